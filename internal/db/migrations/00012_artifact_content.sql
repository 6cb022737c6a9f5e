-- +goose Up
-- Run artifacts live in the database, written in the transaction that
-- completes the run: workers need no shared folder, and a run is never
-- completed without its artifacts. (Artifacts written as files by earlier
-- builds keep a NULL content; the API says so when asked for one.)
ALTER TABLE artifacts ADD COLUMN content BYTEA;
ALTER TABLE artifacts DROP COLUMN ref;

-- +goose Down
ALTER TABLE artifacts ADD COLUMN ref TEXT NOT NULL DEFAULT '';
ALTER TABLE artifacts DROP COLUMN content;
