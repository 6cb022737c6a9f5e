-- +goose Up
-- Studies: an optimisation shared by the workers of a deployment. The
-- study is a parent run (runs.kind = 'study'); this row holds what the
-- workers need to ask its sampler: the study's settings (spec), its search
-- space once a worker has opened the strategy (space), how many trials
-- were asked, completed and failed, and whether the sampler ran out of
-- points. Every trial is a
-- row of study_trials, numbered from 1 (unique: a re-run batch finds its
-- numbers again and never adds a trial twice).
CREATE TABLE studies (
    run_id    TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    spec      TEXT NOT NULL,
    space     TEXT NOT NULL DEFAULT '',
    asked     INTEGER NOT NULL DEFAULT 0,
    exhausted INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    failed    INTEGER NOT NULL DEFAULT 0,
    claims    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE study_trials (
    study_id    TEXT NOT NULL REFERENCES studies(run_id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    status      TEXT NOT NULL,
    batch       TEXT NOT NULL DEFAULT '',
    point       TEXT NOT NULL,
    told        INTEGER NOT NULL DEFAULT 0,
    params      TEXT NOT NULL DEFAULT '{}',
    metrics     TEXT NOT NULL DEFAULT '{}',
    loss        DOUBLE PRECISION,
    duration_ms BIGINT NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    finished_at BIGINT,
    PRIMARY KEY (study_id, number)
);
CREATE INDEX study_trials_status ON study_trials(study_id, status, loss);

-- +goose Down
DROP INDEX study_trials_status;
DROP TABLE study_trials;
DROP TABLE studies;
