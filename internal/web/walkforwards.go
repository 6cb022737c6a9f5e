package web

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/jobs/walkforwardjob"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

// WalkForwards are the walk-forward runs (api.Server). Errors are
// *apitype.Problem; another tenant's run is a 404.
type WalkForwards interface {
	WalkForward(ctx context.Context, p tenancy.Principal, id string) (apitype.WalkForward, error)
	// WalkForwardResult is an artifact of a completed walk-forward (a
	// 409 before).
	WalkForwardResult(ctx context.Context, p tenancy.Principal, id, name string) (runs.Artifact, error)
}

// walkFigures are the figures walkforward.json (and the run's metrics)
// give of a backtest.
type walkFigures struct {
	ProfitTotal       float64 `json:"profit_total"`
	SharpeDaily       float64 `json:"sharpe_daily_equity"`
	MaxDrawdownEquity float64 `json:"max_drawdown_equity"`
	Trades            int     `json:"total_trades"`
}

// walkDoc is what the page reads of walkforward.json
// (report.WriteWalkForwardJSON).
type walkDoc struct {
	Efficiency *float64 `json:"efficiency"`
	Windows    []struct {
		Window      int            `json:"window"`
		TrainStart  int64          `json:"train_start_ts"`
		TrainEnd    int64          `json:"train_end_ts"`
		TestStart   int64          `json:"test_start_ts"`
		TestEnd     int64          `json:"test_end_ts"`
		Trials      int            `json:"trials"`
		BestTrial   int            `json:"best_trial"`
		Params      map[string]any `json:"params"`
		Stoploss    float64        `json:"stoploss"`
		InSample    walkFigures    `json:"in_sample"`
		OutOfSample walkFigures    `json:"out_of_sample"`
		Efficiency  *float64       `json:"efficiency"`
		Verdict     string         `json:"verdict"`
	} `json:"windows"`
}

// walkWindowRow is one window of a walk-forward as its page shows it.
type walkWindowRow struct {
	Window, Train, Test, Trials, Best, Efficiency, Verdict, Params string
	IS, OOS                                                        figuresRow
}

// figuresRow are a backtest's figures as text.
type figuresRow struct {
	Profit, Sharpe, Drawdown, Trades, Class string
}

func figuresOf(f walkFigures) figuresRow {
	return figuresRow{Profit: pct(f.ProfitTotal), Sharpe: num2(f.SharpeDaily), Drawdown: pct(f.MaxDrawdownEquity), Trades: strconv.Itoa(f.Trades), Class: sign(f.ProfitTotal)}
}

type walkForwardView struct {
	ID, Strategy, Status, Error, Created, Spaces, Seed string
	Progress                                           float64
	Active, Completed                                  bool
	Settings                                           apitype.WalkForwardSettings
	Windows                                            []walkWindowRow
	// OOS are the stitched out-of-sample figures, Efficiency the whole
	// analysis's.
	OOS        figuresRow
	Efficiency string
	// Series are the chart's curves: the stitched out-of-sample equity,
	// then each window's in-sample equity.
	Series []compareSeries
}

// ratioText is a ratio, "n/a" when undefined (null).
func ratioText(x *float64) string {
	if x == nil {
		return "n/a"
	}
	return num2(*x)
}

func dayText(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02") }

func (s *Server) walkForwardPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	wf, err := s.d.WalkForwards.WalkForward(r.Context(), sess.p, id)
	if err != nil {
		s.opFailed(w, r, sess, "reading the walk-forward", err)
		return
	}
	run := wf.Run
	v := walkForwardView{ID: run.ID, Strategy: run.Strategy, Status: run.Status, Error: run.Error, Created: run.CreatedAt.Format("2006-01-02 15:04"),
		Progress: run.Progress, Active: run.Status == string(runs.Queued) || run.Status == string(runs.Running), Completed: run.Status == string(runs.Completed),
		Settings: wf.Settings, Spaces: strings.Join(wf.Settings.Spaces, " "), Seed: strconv.FormatUint(wf.Settings.Seed, 10)}
	if v.Completed {
		if err := s.walkForwardResults(r.Context(), sess.p, id, run, &v); err != nil {
			s.opFailed(w, r, sess, "reading the walk-forward's results", err)
			return
		}
	}
	s.render(w, r, http.StatusOK, s.page(sess, "Walk-forward "+v.ID, "studies", walkForwardBody(v)))
}

// walkForwardResults fills v from a completed walk-forward's files.
func (s *Server) walkForwardResults(ctx context.Context, p tenancy.Principal, id string, run apitype.Run, v *walkForwardView) error {
	a, err := s.d.WalkForwards.WalkForwardResult(ctx, p, id, walkforwardjob.ArtifactJSON)
	if err != nil {
		return err
	}
	var doc walkDoc
	if err := json.Unmarshal(a.Content, &doc); err != nil {
		return fmt.Errorf("walkforward.json: %w", err)
	}
	var stitched walkFigures
	if err := json.Unmarshal(run.Metrics, &stitched); err != nil {
		return fmt.Errorf("the run's metrics: %w", err)
	}
	v.OOS, v.Efficiency = figuresOf(stitched), ratioText(doc.Efficiency)
	for _, w := range doc.Windows {
		var ps []string
		for _, k := range slices.Sorted(maps.Keys(w.Params)) {
			ps = append(ps, k+"="+fmt.Sprint(w.Params[k]))
		}
		ps = append(ps, "stoploss="+strconv.FormatFloat(w.Stoploss, 'g', 4, 64))
		v.Windows = append(v.Windows, walkWindowRow{Window: strconv.Itoa(w.Window), Train: dayText(w.TrainStart) + " → " + dayText(w.TrainEnd),
			Test: dayText(w.TestStart) + " → " + dayText(w.TestEnd), Trials: strconv.Itoa(w.Trials), Best: strconv.Itoa(w.BestTrial),
			Efficiency: ratioText(w.Efficiency), Verdict: w.Verdict, Params: strings.Join(ps, " "), IS: figuresOf(w.InSample), OOS: figuresOf(w.OutOfSample)})
	}
	a, err = s.d.WalkForwards.WalkForwardResult(ctx, p, id, walkforwardjob.ArtifactEquity)
	if err != nil {
		return err
	}
	var c walkforwardjob.Curves
	if err := json.Unmarshal(a.Content, &c); err != nil {
		return fmt.Errorf("equity.json: %w", err)
	}
	points := func(cs []walkforwardjob.CurvePoint) []point {
		out := make([]point, len(cs))
		for i, p := range cs {
			out[i] = point{p.Time, p.Value}
		}
		return out
	}
	v.Series = append(v.Series, compareSeries{ID: "out of sample", Label: "Out of sample, stitched", Points: points(c.OutOfSample)})
	for i, is := range c.InSample {
		n := strconv.Itoa(i + 1)
		v.Series = append(v.Series, compareSeries{ID: "window " + n, Label: "Window " + n + " in sample (best trial)", Points: points(is)})
	}
	return nil
}

// walkForwardReport is a completed walk-forward's HTML report, served as
// a study's report is (sandboxed).
func (s *Server) walkForwardReport(w http.ResponseWriter, r *http.Request, sess *session) {
	a, err := s.d.WalkForwards.WalkForwardResult(r.Context(), sess.p, r.PathValue("id"), walkforwardjob.ArtifactReport)
	if err != nil {
		s.opFailed(w, r, sess, "reading the walk-forward's report", err)
		return
	}
	writeReport(w, a.Content, true)
}

// walkForwardRow is a walk-forward in the studies page's list.
type walkForwardRow struct {
	ID, Strategy, Status, Created, Settings string
}

// walkForwardRows are the tenant's latest walk-forwards.
func (s *Server) walkForwardRows(ctx context.Context, p tenancy.Principal) ([]walkForwardRow, error) {
	page, err := s.d.Runs.List(ctx, p, runs.Filter{Kind: runs.KindWalkForward}, "", s.o.PageSize)
	if err != nil {
		return nil, err
	}
	var out []walkForwardRow
	for _, r := range page.Runs {
		row := walkForwardRow{ID: r.ID, Strategy: r.Spec.Strategy, Status: string(r.Status), Created: r.Created.UTC().Format("2006-01-02 15:04")}
		if r.Spec.StrategyVersion > 0 {
			row.Strategy += "@" + strconv.Itoa(r.Spec.StrategyVersion)
		}
		if sp, err := walkforwardjob.ParseSpec(r); err == nil {
			mode := "rolling"
			if sp.Anchored {
				mode = "anchored"
			}
			row.Settings = fmt.Sprintf("train %s, test %s, step %s, %s; %d epochs", sp.Train, sp.Test, sp.Step, mode, sp.Epochs)
		}
		out = append(out, row)
	}
	return out, nil
}
