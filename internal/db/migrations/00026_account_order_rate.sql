-- +goose Up
-- An account's max_orders_per_minute counts the orders every deployment
-- on the account sent in the last 60 s: the intents recorded in
-- deployment_orders (created_at, Unix ms), counted in the entry's
-- transaction. This index finds a deployment's latest orders.
CREATE INDEX deployment_orders_sent ON deployment_orders(deployment_id, created_at);

-- +goose Down
DROP INDEX deployment_orders_sent;
