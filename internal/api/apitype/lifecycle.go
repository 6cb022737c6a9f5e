package apitype

// ScheduleRequest schedules a data refresh or re-optimisation of one of
// the tenant's deployments (docs/operations.md, "Schedules and the
// lifecycle").
type ScheduleRequest struct {
	Deployment  string  `json:"deployment" minLength:"1" maxLength:"100" doc:"The deployment's id"`
	Action      string  `json:"action" enum:"refresh,reoptimise" doc:"refresh: download the latest candles of its pairs; reoptimise: a study on the latest window and a challenger"`
	Cron        string  `json:"cron" minLength:"1" maxLength:"100" example:"0 3 * * 1" doc:"When, in UTC: five fields (minute hour day month weekday) or @hourly, @daily, @weekly, @every 6h"`
	WindowDays  int     `json:"window_days,omitempty" minimum:"0" maximum:"3650" doc:"Days a refresh downloads, or a study optimises on (default 30)"`
	HoldoutDays int     `json:"holdout_days,omitempty" minimum:"0" maximum:"3650" doc:"reoptimise: the days after the study's window where champion and challenger are backtested (default 7)"`
	Epochs      int     `json:"epochs,omitempty" minimum:"0" maximum:"100000" doc:"reoptimise: the study's trials (default 100)"`
	Sampler     string  `json:"sampler,omitempty" maxLength:"20" doc:"reoptimise: the study's sampler (default random)"`
	Loss        string  `json:"loss,omitempty" maxLength:"500" doc:"reoptimise: the study's loss (default SharpeHyperOptLoss)"`
	Seed        uint64  `json:"seed,omitempty" doc:"reoptimise: the study's seed"`
	Metric      string  `json:"metric,omitempty" maxLength:"50" doc:"reoptimise: the out-of-sample metric compared (default profit_total)"`
	Margin      float64 `json:"margin,omitempty" minimum:"0" doc:"reoptimise: how much more than the champion's metric the challenger's must be"`
	Approval    string  `json:"approval,omitempty" maxLength:"10" doc:"reoptimise: a winning challenger waits for approval (manual, the default) or is promoted at once (auto)"`
}

// Schedule is a stored schedule.
type Schedule struct {
	ID        string          `json:"id"`
	Spec      ScheduleRequest `json:"spec"`
	CreatedBy string          `json:"created_by,omitempty"`
	Created   string          `json:"created" doc:"RFC 3339"`
	Next      string          `json:"next" doc:"When it fires next, RFC 3339"`
	Last      string          `json:"last,omitempty" doc:"When it last fired"`
	LastError string          `json:"last_error,omitempty" doc:"What went wrong then"`
}

// ScheduleList is the tenant's schedules, oldest first.
type ScheduleList struct {
	Schedules []Schedule `json:"schedules"`
}

// Challenger is a re-optimisation's candidate against the version a
// deployment runs.
type Challenger struct {
	ID               string   `json:"id"`
	Schedule         string   `json:"schedule"`
	Deployment       string   `json:"deployment"`
	Strategy         string   `json:"strategy"`
	ChampionVersion  int      `json:"champion_version"`
	Version          int      `json:"version,omitempty" doc:"The challenger's registry version (0 until the study is exported)"`
	Study            string   `json:"study"`
	Holdout          string   `json:"holdout" doc:"The out-of-sample time range of both backtests"`
	State            string   `json:"state" enum:"optimising,backtesting,pending,promoted,rejected,failed"`
	Reason           string   `json:"reason,omitempty"`
	Metric           string   `json:"metric"`
	Margin           float64  `json:"margin"`
	Approval         string   `json:"approval"`
	ChampionRun      string   `json:"champion_run,omitempty"`
	ChallengerRun    string   `json:"challenger_run,omitempty"`
	ChampionMetric   float64  `json:"champion_metric"`
	ChallengerMetric float64  `json:"challenger_metric"`
	DSR              *float64 `json:"dsr,omitempty" doc:"The study's deflated Sharpe ratio (absent: not measured)"`
	PBO              *float64 `json:"pbo,omitempty" doc:"The study's probability of backtest overfitting (absent: not measured)"`
	Verdict          string   `json:"verdict,omitempty"`
	DecidedBy        string   `json:"decided_by,omitempty"`
	Created          string   `json:"created"`
	Updated          string   `json:"updated"`
}

// ChallengerList is the tenant's challengers, newest first.
type ChallengerList struct {
	Challengers []Challenger `json:"challengers"`
}

// ChallengerDecision approves or rejects a pending challenger.
type ChallengerDecision struct {
	Reason string `json:"reason,omitempty" maxLength:"1000" doc:"Why (recorded with the registry's stage change or the rejection)"`
}
