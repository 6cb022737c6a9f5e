-- +goose Up
-- One row that /ready rewrites to learn whether the database can still
-- write (a full disk fails the write while reads go on working).
CREATE TABLE write_probe (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE write_probe;
