-- +goose Up
-- The strategy lifecycle (internal/lifecycle). A schedule is a tenant's
-- cron job on one deployment: a data refresh or a re-optimisation (spec,
-- JSON); next_at is when it is due next (Unix ms), moved on by the tick
-- that fires it, last_at when it last fired and last_error what went
-- wrong then ('' for nothing).
CREATE TABLE schedules (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    deployment  TEXT NOT NULL,
    action      TEXT NOT NULL,
    cron        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    next_at     BIGINT NOT NULL,
    last_at     BIGINT,
    last_error  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX schedules_due ON schedules(next_at);
CREATE INDEX schedules_tenant ON schedules(tenant_id, created_at);

-- A challenger: the version a re-optimisation made of a deployment's
-- strategy, backtested out of sample beside the champion (the version
-- the deployment runs) and promoted to production, or not. state moves
-- optimising → backtesting → pending (waiting for approval) → promoted
-- or rejected; failed when a step could not be done (reason says why).
CREATE TABLE challengers (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    schedule_id        TEXT NOT NULL,
    deployment         TEXT NOT NULL,
    strategy           TEXT NOT NULL,
    champion_version   INTEGER NOT NULL,
    challenger_version INTEGER NOT NULL DEFAULT 0,
    study_id           TEXT NOT NULL,
    oos_timerange      TEXT NOT NULL,
    policy             TEXT NOT NULL,
    champion_run       TEXT NOT NULL DEFAULT '',
    challenger_run     TEXT NOT NULL DEFAULT '',
    state              TEXT NOT NULL,
    reason             TEXT NOT NULL DEFAULT '',
    figures            TEXT NOT NULL DEFAULT '{}',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    decided_by         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX challengers_tenant ON challengers(tenant_id, created_at);
CREATE INDEX challengers_state ON challengers(state);

-- +goose Down
DROP INDEX challengers_state;
DROP INDEX challengers_tenant;
DROP TABLE challengers;
DROP INDEX schedules_tenant;
DROP INDEX schedules_due;
DROP TABLE schedules;
