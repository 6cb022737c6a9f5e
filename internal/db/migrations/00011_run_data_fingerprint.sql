-- +goose Up
-- The exact market data a completed run read: a digest of every candle
-- (time, open, high, low, close, volume) of every pair, in pair order.
ALTER TABLE runs ADD COLUMN data_fingerprint TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE runs DROP COLUMN data_fingerprint;
