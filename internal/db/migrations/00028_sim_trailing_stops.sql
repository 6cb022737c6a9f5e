-- +goose Up
-- The simulator's trailing stops: an order's trailingDelta (BIPS; 0 for
-- other orders), when it started tracking (Unix ms; 0 not yet) and the
-- highest (sell) or lowest (buy) price it had tracked at its last event.
ALTER TABLE sim_orders ADD COLUMN trailing_delta BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sim_orders ADD COLUMN trailing_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sim_orders ADD COLUMN trail_peak BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sim_orders DROP COLUMN trail_peak;
ALTER TABLE sim_orders DROP COLUMN trailing_time;
ALTER TABLE sim_orders DROP COLUMN trailing_delta;
