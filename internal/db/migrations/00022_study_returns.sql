-- +goose Up
-- What a study keeps of its trials for the overfitting figures (the
-- deflated Sharpe ratio and the probability of backtest overfitting,
-- docs/optimisation.md): of every trial the Sharpe ratio of its daily
-- returns (daily_sharpe, NULL when it has none to judge), and of the
-- trials among the best when they finished and of a sample spread over
-- the study their daily returns (daily_returns, a JSON array; '' for the
-- others).
ALTER TABLE study_trials ADD COLUMN daily_sharpe DOUBLE PRECISION;
ALTER TABLE study_trials ADD COLUMN daily_returns TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE study_trials DROP COLUMN daily_returns;
ALTER TABLE study_trials DROP COLUMN daily_sharpe;
