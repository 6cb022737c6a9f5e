-- +goose Up
-- Risk limits and the kill switch (issue 15): a stop every runner acts on
-- at once (cancel the open orders, flatten when asked, then stop), the
-- deployment's risk state as its runner last recorded it (the venue's
-- circuit breaker, a loss or drawdown limit that paused it), and the
-- limits of a tenant's venue account, binding every deployment on it.
ALTER TABLE deployments ADD COLUMN stop_asked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN risk_state TEXT NOT NULL DEFAULT '';

CREATE TABLE account_risk_limits (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    venue      TEXT NOT NULL,
    account    TEXT NOT NULL,
    limits     TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, venue, account)
);

-- +goose Down
DROP TABLE account_risk_limits;
ALTER TABLE deployments DROP COLUMN risk_state;
ALTER TABLE deployments DROP COLUMN stop_asked;
