-- The paper exchange simulator (internal/sim): accounts, their API keys,
-- balances, orders and fills. Amounts are BIGINT counts of 10⁻⁸ (the
-- simulator's exact fixed-point numbers), times Unix milliseconds of the
-- simulation clock. API secrets are stored as they are: the simulator needs
-- them to check HMAC signatures, as Binance does; they guard paper money
-- only, and are never the user's real exchange secrets.

-- +goose Up
CREATE TABLE sim_accounts (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant, name)
);

CREATE TABLE sim_api_keys (
    api_key    TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES sim_accounts(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX sim_api_keys_account ON sim_api_keys(account_id);

CREATE TABLE sim_balances (
    account_id TEXT NOT NULL REFERENCES sim_accounts(id),
    asset      TEXT NOT NULL,
    free       BIGINT NOT NULL,
    locked     BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, asset)
);

CREATE TABLE sim_orders (
    id              BIGINT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES sim_accounts(id),
    symbol          TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    side            TEXT NOT NULL,
    type            TEXT NOT NULL,
    time_in_force   TEXT NOT NULL,
    price           BIGINT NOT NULL,
    stop_price      BIGINT NOT NULL,
    orig_qty        BIGINT NOT NULL,
    orig_quote_qty  BIGINT NOT NULL,
    executed_qty    BIGINT NOT NULL,
    cum_quote       BIGINT NOT NULL,
    cum_quote_rem   BIGINT NOT NULL,
    locked          BIGINT NOT NULL,
    status          TEXT NOT NULL,
    open            INTEGER NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    working_time    BIGINT NOT NULL
);
CREATE INDEX sim_orders_account ON sim_orders(account_id, symbol, id);
CREATE INDEX sim_orders_open ON sim_orders(open);

CREATE TABLE sim_fills (
    trade_id         BIGINT PRIMARY KEY,
    order_id         BIGINT NOT NULL,
    account_id       TEXT NOT NULL REFERENCES sim_accounts(id),
    symbol           TEXT NOT NULL,
    side             TEXT NOT NULL,
    price            BIGINT NOT NULL,
    qty              BIGINT NOT NULL,
    quote_qty        BIGINT NOT NULL,
    commission       BIGINT NOT NULL,
    commission_asset TEXT NOT NULL,
    time             BIGINT NOT NULL,
    maker            INTEGER NOT NULL
);
CREATE INDEX sim_fills_account ON sim_fills(account_id, symbol, trade_id);
CREATE INDEX sim_fills_order ON sim_fills(order_id);

CREATE TABLE sim_state (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- +goose Down
DROP TABLE sim_state;
DROP TABLE sim_fills;
DROP TABLE sim_orders;
DROP TABLE sim_balances;
DROP TABLE sim_api_keys;
DROP TABLE sim_accounts;
