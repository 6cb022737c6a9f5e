package apitype

import (
	"encoding/json"
	"time"
)

// SubmitRequest is a backtest to run: the config the CLI takes, the
// strategy, and the overrides the CLI has as flags.
type SubmitRequest struct {
	Strategy  string            `json:"strategy" minLength:"1" maxLength:"500" doc:"A built-in strategy name (GET /api/v1/strategies), or a registry version: NAME (the latest), NAME@3, NAME@production, NAME@staging; Python files, exec: programs and registry versions only when the server allows external strategies" example:"rsi_bollinger"`
	Config    map[string]any    `json:"config,omitempty" doc:"A Freqtrade-style backtest config (the file tradai backtest --config reads); its datadir is ignored: the server's data store is used"`
	Timerange string            `json:"timerange,omitempty" maxLength:"40" doc:"YYYYMMDD-YYYYMMDD, end exclusive; either side may be empty (overrides the config)" example:"20180115-20180125"`
	Pairs     []string          `json:"pairs,omitempty" maxItems:"1000" doc:"Pairs to test (override the config's pair_whitelist)" example:"[\"ETH/BTC\"]"`
	Params    map[string]any    `json:"params,omitempty" doc:"Strategy parameter values by name"`
	Tags      map[string]string `json:"tags,omitempty" doc:"Free-form labels to find (?tag=key=value) and compare runs by; keys non-empty, without '='"`
}

// Ticket is the answer to a submission.
type Ticket struct {
	RunID     string `json:"run_id"`
	Status    string `json:"status"`
	StatusURL string `json:"status_url" doc:"GET it to follow the run"`
}

// Run is a run as the API shows it.
type Run struct {
	ID              string            `json:"id"`
	Kind            string            `json:"kind"`
	Parent          string            `json:"parent,omitempty" readOnly:"true" doc:"The run this one belongs to (a study's trial, a deployment's restart), if any"`
	Status          string            `json:"status" enum:"queued,running,completed,failed,cancelled,dead_letter"`
	Strategy        string            `json:"strategy"`
	StrategyVersion int               `json:"strategy_version,omitempty" doc:"The registry version of strategy the run runs (resolved at submission); absent for built-ins and files"`
	CodeSHA256      string            `json:"code_sha256,omitempty" doc:"SHA-256 of that version's canonical archive"`
	Params          json.RawMessage   `json:"params"`
	Config          json.RawMessage   `json:"config,omitempty"`
	Fingerprint     string            `json:"fingerprint" doc:"SHA-256 of the strategy reference, its version, the effective config and the parameters"`
	DataFingerprint string            `json:"data_fingerprint,omitempty" doc:"Digest (xxHash64) of every candle the completed run read, over all pairs: equal values, same data"`
	Tags            map[string]string `json:"tags"`
	Progress        float64           `json:"progress" doc:"0 to 1"`
	Attempts        int               `json:"attempts"`
	Error           string            `json:"error,omitempty"`
	CreatedAt       time.Time         `json:"created_at"`
	StartedAt       *time.Time        `json:"started_at,omitempty"`
	FinishedAt      *time.Time        `json:"finished_at,omitempty"`
	Metrics         json.RawMessage   `json:"metrics,omitempty" doc:"The metrics summary, once completed"`
	Steps           []Step            `json:"steps,omitempty"`
	Artifacts       []Artifact        `json:"artifacts,omitempty"`
	Links           map[string]string `json:"links"`
}

// Step is one workflow step of a run.
type Step struct {
	Name       string     `json:"name"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Seconds    float64    `json:"seconds,omitempty"`
	Error      string     `json:"error,omitempty"`
	Detail     string     `json:"detail,omitempty" doc:"What the step did, e.g. which candles ensure_data downloaded or how notify delivered the run's webhook event"`
}

// Artifact is a file a run produced.
type Artifact struct {
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	URL       string `json:"url"`
}

// RunPage is one page of runs, newest first.
type RunPage struct {
	Runs       []Run  `json:"runs"`
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last"`
}

// TradeList is the answer of GET /api/v1/backtests/{id}/trades.
type TradeList struct {
	Trades json.RawMessage `json:"trades" doc:"The run's trades, with Freqtrade's field names"`
}

// Comparison sets runs side by side: one row per metric and per parameter,
// with a value per run in the order of runs (null where a run has none).
type Comparison struct {
	Runs    []Run           `json:"runs"`
	Metrics []ComparisonRow `json:"metrics"`
	Params  []ComparisonRow `json:"params"`
	// Differ lists the parameters and top-level config keys whose values
	// are not the same in every run, "code" when they ran different
	// strategies or registry versions, and "data" when the runs read
	// different candles (data fingerprints).
	Differ []string `json:"differ"`
}

// ComparisonRow is one metric or parameter across the compared runs.
type ComparisonRow struct {
	Name   string            `json:"name"`
	Values []json.RawMessage `json:"values"`
}
