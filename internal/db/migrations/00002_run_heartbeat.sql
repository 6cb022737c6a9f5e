-- Worker liveness for orphan recovery: a worker running a run stamps
-- heartbeat_at every few seconds; a run still running with an old stamp has
-- lost its worker and is re-queued.

-- +goose Up
ALTER TABLE runs ADD COLUMN heartbeat_at BIGINT;
CREATE INDEX runs_heartbeat ON runs(status, heartbeat_at);

-- +goose Down
DROP INDEX runs_heartbeat;
ALTER TABLE runs DROP COLUMN heartbeat_at;
