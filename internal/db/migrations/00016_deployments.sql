-- +goose Up
-- Deployments: a strategy version trading continuously on a venue (paper
-- or live). The row carries its lease: the runner holding it, until when,
-- and the fencing token that grows on every acquisition; every order, fill,
-- trade, equity and log write checks the token in its transaction.
CREATE TABLE deployments (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    created_by       TEXT,
    strategy         TEXT NOT NULL,
    strategy_version INTEGER NOT NULL,
    code_sha256      TEXT NOT NULL,
    mode             TEXT NOT NULL,
    venue            TEXT NOT NULL,
    account          TEXT NOT NULL,
    pairs            TEXT NOT NULL,
    timeframe        TEXT NOT NULL,
    config           TEXT NOT NULL,
    state            TEXT NOT NULL,
    error            TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    lease_runner     TEXT NOT NULL DEFAULT '',
    lease_token      BIGINT NOT NULL DEFAULT 0,
    lease_expires_at BIGINT NOT NULL DEFAULT 0,
    heartbeat_at     BIGINT NOT NULL DEFAULT 0,
    last_tick_at     BIGINT NOT NULL DEFAULT 0,
    log_seq          BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX deployments_tenant ON deployments(tenant_id, created_at);
CREATE INDEX deployments_lease ON deployments(state, lease_expires_at);

CREATE TABLE deployment_orders (
    deployment_id   TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    client_order_id TEXT NOT NULL,
    trade_seq       BIGINT NOT NULL,
    leg             TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    pair            TEXT NOT NULL,
    side            TEXT NOT NULL,
    type            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    price           TEXT NOT NULL,
    quantity        TEXT NOT NULL,
    quote_quantity  TEXT NOT NULL,
    status          TEXT NOT NULL,
    venue_order_id  BIGINT NOT NULL DEFAULT 0,
    executed        TEXT NOT NULL,
    quote_executed  TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (deployment_id, client_order_id)
);
CREATE INDEX deployment_orders_trade ON deployment_orders(deployment_id, trade_seq);

CREATE TABLE deployment_fills (
    deployment_id    TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    pair             TEXT NOT NULL,
    venue_trade_id   BIGINT NOT NULL,
    client_order_id  TEXT NOT NULL,
    side             TEXT NOT NULL,
    price            TEXT NOT NULL,
    qty              TEXT NOT NULL,
    quote_qty        TEXT NOT NULL,
    commission       TEXT NOT NULL,
    commission_asset TEXT NOT NULL,
    at               BIGINT NOT NULL,
    PRIMARY KEY (deployment_id, pair, venue_trade_id)
);

CREATE TABLE deployment_trades (
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    seq           BIGINT NOT NULL,
    pair          TEXT NOT NULL,
    open          INTEGER NOT NULL,
    open_time     BIGINT NOT NULL,
    close_time    BIGINT NOT NULL,
    record        TEXT NOT NULL,
    venue_qty     TEXT NOT NULL,
    PRIMARY KEY (deployment_id, seq)
);
CREATE UNIQUE INDEX deployment_trades_open ON deployment_trades(deployment_id, pair) WHERE open = 1;

CREATE TABLE deployment_equity (
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    at            BIGINT NOT NULL,
    equity        DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (deployment_id, at)
);

CREATE TABLE deployment_logs (
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    seq           BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    level         TEXT NOT NULL,
    msg           TEXT NOT NULL,
    attrs         TEXT NOT NULL,
    PRIMARY KEY (deployment_id, seq)
);

-- +goose Down
DROP TABLE deployment_logs;
DROP TABLE deployment_equity;
DROP TABLE deployment_trades;
DROP TABLE deployment_fills;
DROP TABLE deployment_orders;
DROP TABLE deployments;
