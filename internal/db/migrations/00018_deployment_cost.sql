-- +goose Up
-- A deployment's cost as its runners measured it: the CPU time and peak
-- memory of its strategy runtime, the venue request weight of its
-- requests (the total, and the venue's count of the last minute).
ALTER TABLE deployments ADD COLUMN cpu_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN peak_memory BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN venue_weight BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN venue_weight_1m BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE deployments DROP COLUMN venue_weight_1m;
ALTER TABLE deployments DROP COLUMN venue_weight;
ALTER TABLE deployments DROP COLUMN peak_memory;
ALTER TABLE deployments DROP COLUMN cpu_ms;
