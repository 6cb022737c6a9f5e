-- +goose Up
-- An account's loss or drawdown breach, one row per account, UTC day
-- (days since 1970) and limit (max_daily_loss, max_drawdown): the first
-- runner to see the account's summed figures past the limit pauses every
-- deployment on the account and, inserting this row, audits and alerts
-- the breach; the others find the row and alert nothing again that day.
CREATE TABLE account_risk_breaches (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    venue      TEXT NOT NULL,
    account    TEXT NOT NULL,
    day        BIGINT NOT NULL,
    risk_limit TEXT NOT NULL,
    why        TEXT NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, venue, account, day, risk_limit)
);

-- +goose Down
DROP TABLE account_risk_breaches;
