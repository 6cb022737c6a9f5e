package lifecycle

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/robfig/cron/v3"

	"github.com/tradai/tradai/internal/optimize/overfit"
)

// The actions of a schedule.
const (
	// ActionRefresh downloads the latest candles of the deployment's
	// pairs and timeframe (the WindowDays up to now).
	ActionRefresh = "refresh"
	// ActionReoptimise runs a study of the deployment's strategy version
	// over the latest window and makes its best trial a challenger.
	ActionReoptimise = "reoptimise"
)

// The approvals of a challenger that won.
const (
	ApprovalManual = "manual" // pending until approved or rejected
	ApprovalAuto   = "auto"   // promoted at once
)

// Defaults of a Spec.
const (
	DefaultWindowDays  = 30
	DefaultHoldoutDays = 7
	DefaultEpochs      = 100
	DefaultMetric      = "profit_total"
	MaxDays            = 3650
	MaxEpochs          = 100_000
)

// Metrics are the metrics a challenger may be judged on: keys of the
// backtest's metrics summary (internal/metrics) where more is better.
var Metrics = []string{"profit_total", "profit_total_abs", "cagr", "sharpe", "sortino", "calmar", "profit_factor",
	"expectancy", "sqn", "sharpe_daily_equity", "sortino_daily_equity", "calmar_equity"}

// ErrInvalid: a request is out of range (FieldError names the field).
var ErrInvalid = errors.New("invalid")

// FieldError is an ErrInvalid naming the field of a Spec that is wrong.
type FieldError struct {
	Field string // deployment, action, cron, window_days, …
	Why   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Why }

// Unwrap makes a FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Spec is what a tenant schedules.
type Spec struct {
	Deployment string `json:"deployment"`
	Action     string `json:"action"`
	// Cron is when, in UTC: five fields (minute hour day month weekday)
	// or a descriptor (@daily, @weekly, @every 6h).
	Cron string `json:"cron"`
	// WindowDays is the data a refresh downloads, or the window a study
	// optimises on (DefaultWindowDays).
	WindowDays int `json:"window_days,omitempty"`
	// HoldoutDays (re-optimisation) are the days after the study's window,
	// up to the day it was made, where champion and challenger are
	// backtested (DefaultHoldoutDays).
	HoldoutDays int `json:"holdout_days,omitempty"`
	// The study's settings (re-optimisation): epochs (DefaultEpochs),
	// sampler, loss and seed as for tradai hyperopt --remote.
	Epochs  int    `json:"epochs,omitempty"`
	Sampler string `json:"sampler,omitempty"`
	Loss    string `json:"loss,omitempty"`
	Seed    uint64 `json:"seed,omitempty"`
	// Policy judges the challenger (re-optimisation).
	Policy
}

// Policy is how a challenger is judged and promoted.
type Policy struct {
	// Metric is the metric of the out-of-sample backtests compared
	// (one of Metrics; DefaultMetric).
	Metric string `json:"metric,omitempty"`
	// Margin is how much more than the champion's Metric the challenger's
	// must be (0: any improvement).
	Margin float64 `json:"margin,omitempty"`
	// Approval is ApprovalManual (the default) or ApprovalAuto.
	Approval string `json:"approval,omitempty"`
}

// WithDefaults fills the zero fields of s.
func (s Spec) WithDefaults() Spec {
	s.Action, s.Cron = strings.TrimSpace(s.Action), strings.TrimSpace(s.Cron)
	if s.WindowDays == 0 {
		s.WindowDays = DefaultWindowDays
	}
	if s.Action == ActionReoptimise {
		if s.HoldoutDays == 0 {
			s.HoldoutDays = DefaultHoldoutDays
		}
		if s.Epochs == 0 {
			s.Epochs = DefaultEpochs
		}
		if s.Metric == "" {
			s.Metric = DefaultMetric
		}
		if s.Approval == "" {
			s.Approval = ApprovalManual
		}
	}
	return s
}

// ParseCron is the schedule of a cron expression (in UTC), or a
// FieldError on "cron" saying what is wrong.
func ParseCron(expr string) (cron.Schedule, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, &FieldError{Field: "cron", Why: "is empty; want five fields (minute hour day month weekday) or a descriptor such as @daily"}
	}
	if len(expr) > 100 {
		return nil, &FieldError{Field: "cron", Why: "is longer than 100 characters"}
	}
	if strings.HasPrefix(strings.TrimSpace(expr), "TZ=") || strings.HasPrefix(strings.TrimSpace(expr), "CRON_TZ=") {
		return nil, &FieldError{Field: "cron", Why: "names a time zone; schedules run in UTC"}
	}
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, &FieldError{Field: "cron", Why: fmt.Sprintf("%q: %v", expr, err)}
	}
	return s, nil
}

// Validate names the first field of s (with its defaults) out of range.
func (s Spec) Validate() error {
	bad := func(field, why string) error { return &FieldError{Field: field, Why: why} }
	switch {
	case s.Deployment == "" || len(s.Deployment) > 100:
		return bad("deployment", "must be a deployment id")
	case s.Action != ActionRefresh && s.Action != ActionReoptimise:
		return bad("action", fmt.Sprintf("%q: want %s or %s", s.Action, ActionRefresh, ActionReoptimise))
	}
	if _, err := ParseCron(s.Cron); err != nil {
		return err
	}
	switch {
	case s.WindowDays < 1 || s.WindowDays > MaxDays:
		return bad("window_days", fmt.Sprintf("%d: want 1 to %d", s.WindowDays, MaxDays))
	case s.Action == ActionRefresh && (s.HoldoutDays != 0 || s.Epochs != 0 || s.Sampler != "" || s.Loss != "" || s.Seed != 0 || s.Policy != Policy{}):
		return bad("action", "a refresh takes no study or challenger settings (holdout_days, epochs, sampler, loss, seed, metric, margin, approval)")
	case s.Action == ActionRefresh:
		return nil
	case s.HoldoutDays < 1 || s.HoldoutDays > MaxDays:
		return bad("holdout_days", fmt.Sprintf("%d: want 1 to %d", s.HoldoutDays, MaxDays))
	case s.Epochs < 1 || s.Epochs > MaxEpochs:
		return bad("epochs", fmt.Sprintf("%d: want 1 to %d", s.Epochs, MaxEpochs))
	case len(s.Sampler) > 20:
		return bad("sampler", "is longer than 20 characters")
	case len(s.Loss) > 500:
		return bad("loss", "is longer than 500 characters")
	}
	return s.Policy.validate()
}

func (p Policy) validate() error {
	switch {
	case !slices.Contains(Metrics, p.Metric):
		return &FieldError{Field: "metric", Why: fmt.Sprintf("%q: want one of %s", p.Metric, strings.Join(Metrics, ", "))}
	case math.IsNaN(p.Margin) || math.IsInf(p.Margin, 0) || p.Margin < 0:
		return &FieldError{Field: "margin", Why: "must be a number at least 0"}
	case p.Approval != ApprovalManual && p.Approval != ApprovalAuto:
		return &FieldError{Field: "approval", Why: fmt.Sprintf("%q: want %s or %s", p.Approval, ApprovalManual, ApprovalAuto)}
	}
	return nil
}

// Figures are what a challenger is judged by: the metric of both
// out-of-sample backtests and the study's overfitting figures (nil: not
// measured).
type Figures struct {
	Metric     string   `json:"metric"`
	Champion   float64  `json:"champion"`
	Challenger float64  `json:"challenger"`
	DSR        *float64 `json:"dsr,omitempty"`
	PBO        *float64 `json:"pbo,omitempty"`
	Verdict    string   `json:"verdict,omitempty"`
}

// Judge says whether a challenger with figures f may replace the
// champion under p, and why (or why not): its metric must beat the
// champion's by more than p.Margin, and the study's overfitting figures
// must pass — a deflated Sharpe ratio of at least overfit.WeakDSR and a
// probability of backtest overfitting below overfit.HighPBO, at least one
// of them measured (overfit.Verdict's "likely overfit" fails).
func Judge(p Policy, f Figures) (wins bool, why string) {
	gain := f.Challenger - f.Champion
	switch {
	case math.IsNaN(gain) || !(gain > p.Margin):
		return false, fmt.Sprintf("%s %.6g against the champion's %.6g: not better by more than the margin %.6g", f.Metric, f.Challenger, f.Champion, p.Margin)
	case f.DSR == nil && f.PBO == nil:
		return false, "the study's overfitting figures were not measured (too few trials or days)"
	case f.DSR != nil && !(*f.DSR >= overfit.WeakDSR):
		return false, fmt.Sprintf("the study's deflated Sharpe ratio %.2f is below %.2f: likely overfit", *f.DSR, overfit.WeakDSR)
	case f.PBO != nil && !(*f.PBO < overfit.HighPBO):
		return false, fmt.Sprintf("the study's probability of backtest overfitting %.0f %% is at least %.0f %%: likely overfit", 100**f.PBO, 100*overfit.HighPBO)
	}
	return true, fmt.Sprintf("%s %.6g against the champion's %.6g (margin %.6g); overfitting figures pass", f.Metric, f.Challenger, f.Champion, p.Margin)
}
