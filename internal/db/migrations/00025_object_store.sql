-- +goose Up
-- Artifacts go to an object store (internal/objstore): the database's
-- objects table by default, or S3 (tradai serve/worker --artifact-store).
-- An artifact's ref says which store holds it and under which key; rows
-- written before this migration have an empty ref and their content in
-- the row.
CREATE TABLE objects (
    object_key TEXT PRIMARY KEY,
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    content    BYTEA NOT NULL
);
ALTER TABLE artifacts ADD COLUMN ref TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE artifacts DROP COLUMN ref;
DROP TABLE objects;
