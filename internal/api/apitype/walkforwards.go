package apitype

// WalkForwardSettings are a walk-forward's settings: what tradai
// walkforward takes as flags besides the backtest's.
type WalkForwardSettings struct {
	Train     string   `json:"train" minLength:"1" maxLength:"20" doc:"Length of each training range: a whole number and m, h, d or w" example:"90d"`
	Test      string   `json:"test" minLength:"1" maxLength:"20" doc:"Length of each test range" example:"30d"`
	Step      string   `json:"step,omitempty" maxLength:"20" doc:"How far each window moves on, at least test (default: test)"`
	Anchored  bool     `json:"anchored,omitempty" doc:"Every window trains from the start of the range (the training range grows)"`
	Spaces    []string `json:"spaces,omitempty" maxItems:"7" doc:"buy sell roi stoploss trailing, default or all (default: default)"`
	Epochs    int      `json:"epochs" minimum:"1" maximum:"1000000" doc:"Trials of each window's study"`
	Loss      string   `json:"loss,omitempty" maxLength:"500" doc:"A Freqtrade loss name or its short form, or weights:METRIC=W,… (default SharpeHyperOptLoss)"`
	Sampler   string   `json:"sampler,omitempty" maxLength:"20" doc:"random, grid, tpe or cmaes (default random)"`
	Seed      uint64   `json:"seed,omitempty" doc:"Window i's sampler is seeded with seed + i; with jobs it repeats an analysis"`
	MinTrades int      `json:"min_trades,omitempty" minimum:"0" doc:"A trial with fewer trades gets the loss 100000 (default 1)"`
	Jobs      int      `json:"jobs,omitempty" minimum:"0" maximum:"64" doc:"Trials of a window run at once on the worker (default: its CPUs)"`
}

// WalkForwardRequest is a walk-forward analysis to run on one of the
// server's workers: the backtest it optimises (as SubmitRequest) and its
// settings.
type WalkForwardRequest struct {
	Strategy  string            `json:"strategy" minLength:"1" maxLength:"500" doc:"As for a backtest: a built-in strategy name or a registry version" example:"sma_cross"`
	Config    map[string]any    `json:"config,omitempty" doc:"A Freqtrade-style backtest config; its datadir is ignored"`
	Timerange string            `json:"timerange,omitempty" maxLength:"40" doc:"YYYYMMDD-YYYYMMDD, end exclusive (overrides the config): the range the windows cut"`
	Pairs     []string          `json:"pairs,omitempty" maxItems:"1000" doc:"Pairs to test (override the config's pair_whitelist)"`
	Params    map[string]any    `json:"params,omitempty" doc:"Fixed strategy parameter values, under the searched ones"`
	Tags      map[string]string `json:"tags,omitempty" doc:"Free-form labels, as for a backtest"`
	WalkForwardSettings
}

// WalkForward is a walk-forward run: the run (status, progress: the
// windows done, steps) and its settings.
type WalkForward struct {
	Run      Run                 `json:"run"`
	Settings WalkForwardSettings `json:"settings"`
	Links    map[string]string   `json:"links" doc:"result (the JSON tradai walkforward --export-json writes), report (--report) and oos_report (--oos-report), once completed"`
}
