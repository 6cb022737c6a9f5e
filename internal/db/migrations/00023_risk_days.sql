-- +goose Up
-- The risk figures of each UTC day (day: days since 1970), kept so that a
-- restarted runner continues the day's daily loss and drawdown, and so
-- that an account's limits count every deployment trading on it.
-- deployment_risk_days: a deployment's equity at the day's start, its
-- highs of the day and since it started, its equity, open positions and
-- entries by pair (positions: a JSON object of notional), open orders and
-- entries sent that day, as its runner last recorded them.
CREATE TABLE deployment_risk_days (
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    day           BIGINT NOT NULL,
    day_start     DOUBLE PRECISION NOT NULL,
    day_high      DOUBLE PRECISION NOT NULL,
    high          DOUBLE PRECISION NOT NULL,
    equity        DOUBLE PRECISION NOT NULL,
    positions     TEXT NOT NULL,
    open_orders   INTEGER NOT NULL,
    orders        INTEGER NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (deployment_id, day)
);

-- account_risk_days: one row per venue account (with limits) and day,
-- locked by every entry's intent on the account: the account's limits are
-- checked on the sum of its deployments' figures of the day while it is
-- held, so two deployments, whatever process runs them, cannot both pass
-- a limit only one fits. The account's figures are those sums.
CREATE TABLE account_risk_days (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    venue      TEXT NOT NULL,
    account    TEXT NOT NULL,
    day        BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, venue, account, day)
);

-- +goose Down
DROP TABLE account_risk_days;
DROP TABLE deployment_risk_days;
