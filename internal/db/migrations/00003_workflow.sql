-- The backtest workflow's records: a step may carry a detail (what the
-- ensure_data step downloaded, what notify delivered), and every webhook
-- event is a delivery with its attempts and outcome. A delivery row is
-- written in the transaction that finishes its run, together with the
-- queue job that sends it.

-- +goose Up
ALTER TABLE run_steps ADD COLUMN detail TEXT NOT NULL DEFAULT '';

CREATE TABLE webhook_deliveries (
    id           TEXT PRIMARY KEY,
    run_id       TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    tenant_id    TEXT NOT NULL,
    event        TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_status  INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX webhook_deliveries_run ON webhook_deliveries(run_id);

-- +goose Down
DROP TABLE webhook_deliveries;
ALTER TABLE run_steps DROP COLUMN detail;
