-- +goose Up
-- The strategy registry: a tenant's named strategies, their immutable
-- versions (the canonical archive of the uploaded files, content-addressed
-- by its SHA-256, with the spec the code declared) and every stage change
-- (who, when, why). At most one version of a name is in production.
CREATE TABLE strategies (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE strategy_versions (
    tenant_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    number     INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    runtime    TEXT NOT NULL,
    entry      TEXT NOT NULL,
    spec       TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    message    TEXT NOT NULL,
    tags       TEXT NOT NULL,
    stage      TEXT NOT NULL,
    size       BIGINT NOT NULL,
    files      INTEGER NOT NULL,
    archive    BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, name, number),
    FOREIGN KEY (tenant_id, name) REFERENCES strategies(tenant_id, name)
);
CREATE UNIQUE INDEX strategy_versions_sha ON strategy_versions(tenant_id, name, sha256);
CREATE UNIQUE INDEX strategy_versions_production ON strategy_versions(tenant_id, name) WHERE stage = 'production';

CREATE TABLE strategy_stage_changes (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    number     INTEGER NOT NULL,
    from_stage TEXT NOT NULL,
    to_stage   TEXT NOT NULL,
    changed_by TEXT,
    reason     TEXT NOT NULL,
    at         BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, name, number) REFERENCES strategy_versions(tenant_id, name, number) ON DELETE CASCADE
);
CREATE UNIQUE INDEX strategy_stage_changes_seq ON strategy_stage_changes(tenant_id, name, seq);

-- A run records the registry version it ran (0 and '' for built-ins and
-- files) and the SHA-256 of that version's canonical archive.
ALTER TABLE runs ADD COLUMN strategy_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN code_sha256 TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_strategy_version ON runs(tenant_id, strategy, strategy_version);

-- +goose Down
DROP INDEX runs_strategy_version;
ALTER TABLE runs DROP COLUMN code_sha256;
ALTER TABLE runs DROP COLUMN strategy_version;
DROP TABLE strategy_stage_changes;
DROP TABLE strategy_versions;
DROP TABLE strategies;
