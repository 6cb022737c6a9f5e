-- +goose Up
-- Venue accounts: a tenant's API credentials for a venue, sealed with
-- envelope encryption (internal/secrets). The key-encryption key is never
-- here: sealed holds the data key wrapped by it and the credentials
-- encrypted by the data key; kek_id names the KEK (rotation finds the rows
-- still under the old one). fingerprint is the first 8 hex digits of the
-- SHA-256 of the API key, the only part of it ever shown.
CREATE TABLE venue_accounts (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    venue       TEXT NOT NULL,
    name        TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    kek_id      TEXT NOT NULL,
    sealed      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT
);
CREATE UNIQUE INDEX venue_accounts_name ON venue_accounts(tenant_id, name);

-- +goose Down
DROP TABLE venue_accounts;
