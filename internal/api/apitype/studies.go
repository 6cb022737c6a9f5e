package apitype

import (
	"time"

	"github.com/tradai/tradai/sdk"
)

// StudyRequest is an optimisation to run on the server's workers: the
// backtest the trials vary (as SubmitRequest) and what tradai hyperopt
// takes as flags.
type StudyRequest struct {
	Strategy  string            `json:"strategy" minLength:"1" maxLength:"500" doc:"As for a backtest: a built-in strategy name or a registry version" example:"sma_cross"`
	Config    map[string]any    `json:"config,omitempty" doc:"A Freqtrade-style backtest config; its datadir is ignored"`
	Timerange string            `json:"timerange,omitempty" maxLength:"40" doc:"YYYYMMDD-YYYYMMDD, end exclusive (overrides the config)"`
	Pairs     []string          `json:"pairs,omitempty" maxItems:"1000" doc:"Pairs to test (override the config's pair_whitelist)"`
	Params    map[string]any    `json:"params,omitempty" doc:"Fixed strategy parameter values, under the searched ones"`
	Tags      map[string]string `json:"tags,omitempty" doc:"Free-form labels, as for a backtest"`
	Spaces    []string          `json:"spaces,omitempty" maxItems:"7" doc:"buy sell roi stoploss trailing, default or all (default: default)" example:"[\"buy\",\"roi\",\"stoploss\"]"`
	Epochs    int               `json:"epochs" minimum:"1" maximum:"1000000" doc:"Number of trials"`
	Loss      string            `json:"loss,omitempty" maxLength:"500" doc:"A Freqtrade loss name or its short form, or weights:METRIC=W,… (default SharpeHyperOptLoss)"`
	Sampler   string            `json:"sampler,omitempty" maxLength:"20" doc:"random, grid, tpe or cmaes (default random)"`
	Seed      uint64            `json:"seed,omitempty" doc:"The sampler's seed (docs/optimisation.md: how a seed reproduces a study on many workers)"`
	MinTrades int               `json:"min_trades,omitempty" minimum:"0" doc:"A trial with fewer trades gets the loss 100000 (default 1)"`
	Batch     int               `json:"batch,omitempty" minimum:"0" maximum:"1000" doc:"Trials a worker asks for and runs per job (default 16)"`
	Parallel  int               `json:"parallel,omitempty" minimum:"0" maximum:"64" doc:"Batch jobs queued at once: the most workers helping at a time (default 2)"`
	FailShare float64           `json:"fail_share,omitempty" minimum:"0" maximum:"1" doc:"The study fails once more than this share of at least 20 finished trials failed (default 0.5)"`
}

// StudyTicket is the answer to a study submission.
type StudyTicket struct {
	StudyID   string `json:"study_id"`
	Status    string `json:"status"`
	StatusURL string `json:"status_url" doc:"GET it to follow the study"`
}

// StudyCounts are a study's trials by status.
type StudyCounts struct {
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	Running   int `json:"running"`
	Pending   int `json:"pending" doc:"Held by a batch of a cancelled study; asked again first on resume"`
}

// Study is a study as the API shows it.
type Study struct {
	ID              string            `json:"id" doc:"The study's id, its parent run's"`
	Status          string            `json:"status" enum:"queued,running,completed,failed,cancelled,dead_letter"`
	Strategy        string            `json:"strategy"`
	StrategyVersion int               `json:"strategy_version,omitempty"`
	Tags            map[string]string `json:"tags"`
	Spaces          []string          `json:"spaces"`
	Epochs          int               `json:"epochs"`
	Loss            string            `json:"loss"`
	Sampler         string            `json:"sampler"`
	Seed            uint64            `json:"seed"`
	MinTrades       int               `json:"min_trades"`
	Batch           int               `json:"batch"`
	Parallel        int               `json:"parallel"`
	FailShare       float64           `json:"fail_share"`
	Dimensions      []string          `json:"dimensions,omitempty" doc:"The searched dimensions, once a worker opened the strategy"`
	Asked           int               `json:"asked" doc:"Trials asked of the sampler so far"`
	Trials          StudyCounts       `json:"trials"`
	Error           string            `json:"error,omitempty"`
	CreatedAt       time.Time         `json:"created_at"`
	StartedAt       *time.Time        `json:"started_at,omitempty"`
	FinishedAt      *time.Time        `json:"finished_at,omitempty"`
	Best            []Trial           `json:"best,omitempty" doc:"The lowest-loss trials (GET with ?top=N)"`
	Importance      []ParamImportance `json:"importance,omitempty" doc:"How much of the loss each dimension explains on its own (GET with ?top=N)"`
	Links           map[string]string `json:"links"`
}

// ParamImportance is a dimension's share of the loss ranks' variance.
type ParamImportance struct {
	Name   string  `json:"name"`
	Share  float64 `json:"share" doc:"η² of the loss ranks over the dimension's bins, 0 to 1"`
	Chance float64 `json:"chance" doc:"What noise alone gives on average: only shares well above it mean anything"`
}

// Trial is one trial of a study.
type Trial struct {
	Number     int            `json:"number"`
	Status     string         `json:"status" enum:"running,pending,completed,failed"`
	Point      []float64      `json:"point" doc:"The sampled point, in the order of the study's dimensions"`
	Params     map[string]any `json:"params,omitempty" doc:"The searched strategy parameters"`
	Risk       *sdk.Risk      `json:"risk,omitempty" doc:"The trial's roi, stoploss and trailing settings"`
	Loss       *float64       `json:"loss,omitempty" doc:"Absent unless completed"`
	Trades     int            `json:"trades"`
	Wins       int            `json:"wins"`
	Draws      int            `json:"draws"`
	Losses     int            `json:"losses"`
	ProfitMean float64        `json:"profit_mean"`
	ProfitAbs  float64        `json:"profit_total_abs"`
	Profit     float64        `json:"profit_total"`
	HoldingAvg float64        `json:"holding_avg_minutes"`
	Drawdown   float64        `json:"max_drawdown_account"`
	Sharpe     float64        `json:"sharpe"`
	DurationMs int64          `json:"duration_ms"`
	Error      string         `json:"error,omitempty"`
}

// StudyPage is one page of studies, newest first.
type StudyPage struct {
	Studies    []Study `json:"studies"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// TrialPage is one page of a study's trials.
type TrialPage struct {
	Trials     []Trial `json:"trials"`
	NextOffset int     `json:"next_offset,omitempty" doc:"Pass as offset for the next page; absent on the last"`
}
