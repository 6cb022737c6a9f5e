-- +goose Up
-- A run may belong to another of its tenant's runs: a study's trials, a
-- deployment's restarts. A parent cannot be deleted while it has children.
ALTER TABLE runs ADD COLUMN parent_id TEXT REFERENCES runs(id);
CREATE INDEX runs_parent ON runs(parent_id);

-- +goose Down
DROP INDEX runs_parent;
ALTER TABLE runs DROP COLUMN parent_id;
