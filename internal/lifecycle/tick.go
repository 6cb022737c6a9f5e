package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/sdk"
)

// TickEvery is how often the job queue's periodic job calls Tick: the
// resolution of a cron schedule.
const TickEvery = time.Minute

// Tick fires the schedules due on the clock and moves every open
// challenger one step on. What goes wrong with one schedule is recorded
// on it (LastError) and with one challenger on it (failed, its reason),
// never stopping the others; the error is a failure to read them.
func (s *Service) Tick(ctx context.Context) error {
	now := s.c.Clock.Now().UTC()
	due, err := s.schedules(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE next_at <= ? ORDER BY next_at, id`, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("lifecycle tick: %w", err)
	}
	for _, sc := range due {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.fire(ctx, sc, now)
	}
	open, err := s.challengers(ctx, `SELECT `+challengerColumns+` FROM challengers WHERE state IN (?, ?) ORDER BY created_at, id`, StateOptimising, StateBacktesting)
	if err != nil {
		return fmt.Errorf("lifecycle tick: %w", err)
	}
	for _, c := range open {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := s.advance(ctx, c); err != nil {
			s.c.Log.Warn("challenger not moved on; tried again next tick", "challenger", c.ID, "tenant", c.Tenant, "err", err)
		}
	}
	return nil
}

// day is t's UTC day as Freqtrade's timerange writes it.
func day(t time.Time) string { return t.UTC().Format("20060102") }

// fire submits schedule sc's run (idempotently: the key is the schedule
// and its due time) and moves it to its next time; a re-optimisation's
// challenger is recorded in the transaction that moves it, so one fire
// makes one challenger however many ticks race.
func (s *Service) fire(ctx context.Context, sc Schedule, now time.Time) {
	p := tenancy.Principal{Tenant: sc.Tenant}
	key := fmt.Sprintf("schedule-%s-%d", sc.ID, sc.Next.UnixMilli())
	var chal *Challenger
	err := func() error {
		d, err := s.c.Deployments.Get(ctx, p, sc.Spec.Deployment)
		if err != nil {
			return err
		}
		cfg, err := s.deploymentConfig(d)
		if err != nil {
			return err
		}
		today := now.Truncate(24 * time.Hour)
		switch sc.Spec.Action {
		case ActionRefresh:
			exchange, _ := cfg["exchange"].(map[string]any)
			name, _ := exchange["name"].(string)
			_, err := s.c.Submitter.SubmitDownload(ctx, p, apitype.DownloadRequest{Exchange: name, Pairs: d.Spec.Pairs,
				Timeframes: []string{string(d.Spec.Timeframe)}, Timerange: day(today.AddDate(0, 0, -sc.Spec.WindowDays)) + "-"}, key)
			return err
		case ActionReoptimise:
			ref := fmt.Sprintf("%s@%d", d.Spec.Strategy, d.Spec.Version)
			spaces, err := s.paramSpaces(ctx, p, ref)
			if err != nil {
				return err
			}
			holdout := today.AddDate(0, 0, -sc.Spec.HoldoutDays)
			train := day(holdout.AddDate(0, 0, -sc.Spec.WindowDays)) + "-" + day(holdout)
			st, err := s.c.Submitter.SubmitStudy(ctx, p, apitype.StudyRequest{Strategy: ref, Config: cfg, Timerange: train, Pairs: d.Spec.Pairs,
				Spaces: spaces, Epochs: sc.Spec.Epochs, Sampler: sc.Spec.Sampler, Loss: sc.Spec.Loss, Seed: sc.Spec.Seed,
				Tags: map[string]string{"schedule": sc.ID, "deployment": d.ID}}, key)
			if err != nil {
				return err
			}
			chal = &Challenger{ID: db.NewID("chl", now), Tenant: sc.Tenant, Schedule: sc.ID, Deployment: d.ID, Strategy: d.Spec.Strategy,
				Champion: d.Spec.Version, Study: st.ID(), Holdout: day(holdout) + "-" + day(today), Policy: sc.Spec.Policy, State: StateOptimising,
				Created: now, Updated: now}
		}
		return nil
	}()
	lastErr := ""
	if err != nil {
		lastErr = err.Error()
		s.c.Log.Warn("schedule fired without its run", "schedule", sc.ID, "tenant", sc.Tenant, "action", sc.Spec.Action, "err", err)
	}
	sched, perr := ParseCron(sc.Spec.Cron)
	if perr != nil {
		s.c.Log.Error("stored schedule has a bad cron", "schedule", sc.ID, "err", perr)
		return
	}
	next := sched.Next(now)
	err = s.c.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE schedules SET next_at = ?, last_at = ?, last_error = ? WHERE id = ? AND next_at = ?`,
			next.UnixMilli(), now.UnixMilli(), lastErr, sc.ID, sc.Next.UnixMilli())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 || chal == nil {
			return err // another tick fired it (its challenger is that tick's)
		}
		return s.insertChallenger(ctx, tx, *chal)
	})
	if err != nil {
		s.c.Log.Error("schedule not moved on; fired again next tick", "schedule", sc.ID, "err", err)
	}
}

// paramSpaces are the study spaces of the parameters version ref
// declares (optimize.ParamSpace: buy, sell): a re-optimisation searches
// the strategy's parameters, not the deployment's risk settings (roi,
// stoploss, trailing), which its config holds for champion and challenger
// alike.
func (s *Service) paramSpaces(ctx context.Context, p tenancy.Principal, ref string) ([]string, error) {
	v, err := s.c.Registry.Get(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	var spaces []string
	for _, sp := range []string{optimize.SpaceBuy, optimize.SpaceSell} {
		if slices.ContainsFunc(v.Spec.Params, func(q sdk.Param) bool { return optimize.ParamSpace(q.Name) == sp }) {
			spaces = append(spaces, sp)
		}
	}
	if len(spaces) == 0 {
		return nil, fmt.Errorf("strategy %s declares no parameter to re-optimise", ref)
	}
	return spaces, nil
}

// deploymentConfig is d's config as an object ({} for none), its
// timeframe d's and its exchange, when it names none, the one whose
// candles the data store holds for it (Config.Exchange).
func (s *Service) deploymentConfig(d deploy.Deployment) (map[string]any, error) {
	cfg := map[string]any{}
	if len(d.Spec.Config) > 0 {
		if err := json.Unmarshal(d.Spec.Config, &cfg); err != nil {
			return nil, fmt.Errorf("deployment %s: its config: %w", d.ID, err)
		}
	}
	if cfg == nil {
		cfg = map[string]any{}
	}
	cfg["timeframe"] = string(d.Spec.Timeframe)
	switch ex := cfg["exchange"].(type) {
	case nil:
		cfg["exchange"] = map[string]any{"name": s.c.Exchange}
	case map[string]any:
		if name, _ := ex["name"].(string); name == "" {
			ex["name"] = s.c.Exchange
		}
	}
	return cfg, nil
}

// advance moves open challenger c one step on (see the package doc).
func (s *Service) advance(ctx context.Context, c Challenger) error {
	p := tenancy.Principal{Tenant: c.Tenant}
	from := c.State
	switch c.State {
	case StateOptimising:
		st, err := s.c.Studies.Get(ctx, p, c.Study)
		if err != nil {
			return err
		}
		switch st.Run.Status {
		case runs.Queued, runs.Running:
			return nil
		case runs.Completed:
		default:
			return s.fail(ctx, &c, fmt.Sprintf("study %s %s: %s", c.Study, st.Run.Status, st.Run.Error))
		}
		of, err := s.c.Studies.Overfitting(ctx, p, st)
		if err != nil {
			return err
		}
		c.Figures = Figures{Metric: c.Policy.Metric, DSR: measured(of.DSR), PBO: measured(of.PBO), Verdict: of.Verdict}
		v, _, err := s.c.Studies.ExportVersion(ctx, p, st, s.c.Registry)
		if err != nil {
			return s.fail(ctx, &c, fmt.Sprintf("export study %s as a version: %v", c.Study, err))
		}
		c.Version = v.Number
		d, err := s.c.Deployments.Get(ctx, p, c.Deployment)
		if err != nil {
			return s.fail(ctx, &c, fmt.Sprintf("its deployment: %v", err))
		}
		cfg, err := s.deploymentConfig(d)
		if err != nil {
			return s.fail(ctx, &c, err.Error())
		}
		for _, b := range []struct {
			version int
			run     *string
			who     string
		}{{c.Champion, &c.ChampionRun, "champion"}, {c.Version, &c.ChallengerRun, "challenger"}} {
			r, err := s.c.Submitter.Submit(ctx, p, apitype.SubmitRequest{Strategy: fmt.Sprintf("%s@%d", c.Strategy, b.version), Config: cfg,
				Timerange: c.Holdout, Pairs: d.Spec.Pairs, Tags: map[string]string{"challenger": c.ID, "side": b.who}}, "challenger-"+c.ID+"-"+b.who)
			if err != nil {
				return s.fail(ctx, &c, fmt.Sprintf("backtest the %s out of sample: %v", b.who, err))
			}
			*b.run = r.ID
		}
		c.State = StateBacktesting
		return s.record(ctx, &c, from)
	case StateBacktesting:
		var got [2]float64
		for i, id := range []string{c.ChampionRun, c.ChallengerRun} {
			r, err := s.c.Runs.Get(ctx, p, id)
			if err != nil {
				return err
			}
			switch r.Status {
			case runs.Completed:
			case runs.Failed, runs.Cancelled, runs.DeadLetter:
				return s.fail(ctx, &c, fmt.Sprintf("backtest %s %s: %s", id, r.Status, r.Error))
			default:
				return nil
			}
			var m map[string]any
			if err := json.Unmarshal(r.Metrics, &m); err != nil {
				return s.fail(ctx, &c, fmt.Sprintf("backtest %s: its metrics: %v", id, err))
			}
			v, ok := m[c.Policy.Metric].(float64)
			if !ok {
				return s.fail(ctx, &c, fmt.Sprintf("backtest %s has no metric %s", id, c.Policy.Metric))
			}
			got[i] = v
		}
		c.Figures.Champion, c.Figures.Challenger = got[0], got[1]
		wins, why := Judge(c.Policy, c.Figures)
		c.Reason = why
		if !wins {
			c.State = StateRejected
			return s.record(ctx, &c, from)
		}
		c.State = StatePending
		if err := s.record(ctx, &c, from); err != nil || c.Policy.Approval != ApprovalAuto {
			return err
		}
		return s.promote(ctx, p, &c, "challenger "+c.ID+" promoted automatically: "+why, "challenger.promote")
	}
	return nil
}

// measured is v, or nil when it was not measured (NaN).
func measured(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// record stores c moved from state from (another tick's move wins).
func (s *Service) record(ctx context.Context, c *Challenger, from string) error {
	return s.c.DB.InTx(ctx, func(tx *db.Tx) error {
		_, err := s.move(ctx, tx, c, from)
		return err
	})
}

// fail records c failed, why.
func (s *Service) fail(ctx context.Context, c *Challenger, why string) error {
	from := c.State
	c.State, c.Reason = StateFailed, why
	s.c.Log.Warn("challenger failed", "challenger", c.ID, "tenant", c.Tenant, "reason", why)
	if err := s.record(ctx, c, from); err != nil {
		return errors.Join(errors.New(why), err)
	}
	return nil
}
