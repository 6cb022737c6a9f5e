-- +goose Up
-- A deployment's stop orders carry their trigger; a stop can ask the
-- runner to close the open trades first (stop --flatten).
ALTER TABLE deployment_orders ADD COLUMN stop_price TEXT NOT NULL DEFAULT '0';
ALTER TABLE deployments ADD COLUMN flatten INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE deployments DROP COLUMN flatten;
ALTER TABLE deployment_orders DROP COLUMN stop_price;
