-- The platform's first schema. Written in SQL that SQLite and PostgreSQL
-- both accept: ids are TEXT made in Go, times are Unix milliseconds in
-- BIGINT columns, JSON is TEXT, and there are no dialect-only types.

-- +goose Up
CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX users_tenant ON users(tenant_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE runs (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    created_by      TEXT,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    strategy        TEXT NOT NULL,
    params          TEXT NOT NULL,
    config          TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    idempotency_key TEXT,
    request_hash    TEXT NOT NULL,
    progress        DOUBLE PRECISION NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    started_at      BIGINT,
    finished_at     BIGINT,
    metrics         TEXT,
    tags            TEXT NOT NULL
);
CREATE UNIQUE INDEX runs_idempotency ON runs(tenant_id, idempotency_key);
CREATE INDEX runs_list ON runs(tenant_id, created_at, id);

CREATE TABLE run_steps (
    run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    error       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, name)
);

CREATE TABLE artifacts (
    run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    media_type TEXT NOT NULL,
    ref        TEXT NOT NULL,
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);

CREATE TABLE audit_log (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id   TEXT,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    at        BIGINT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log(tenant_id, at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE artifacts;
DROP TABLE run_steps;
DROP TABLE runs;
DROP TABLE api_tokens;
DROP TABLE users;
DROP TABLE tenants;
