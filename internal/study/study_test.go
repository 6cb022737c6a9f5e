package study

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

const dataDir = "../../examples/data"

// exampleConfig is examples/backtest.json cut to two days and two pairs.
func exampleConfig(t testing.TB) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile("../../examples/backtest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["timerange"] = "20180110-20180112"
	m["exchange"].(map[string]any)["pair_whitelist"] = []string{"ETH/BTC", "LTC/BTC"}
	out, _ := json.Marshal(m)
	return out
}

type fixture struct {
	d     *db.DB
	store *Store
	p     tenancy.Principal
}

func setup(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	u, err := tenancy.New(d, nil, nil).CreateUser(context.Background(), "alice", "acme")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{d: d, store: NewStore(d, runs.New(d, nil, 3, nil), nil), p: tenancy.Principal{Tenant: u.Tenant, User: u.ID}}
}

func (f *fixture) create(t testing.TB, spec Spec) *Study {
	t.Helper()
	st, err := f.store.Create(context.Background(), f.p, Request{Strategy: "sma_cross", Config: exampleConfig(t), Spec: spec}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (f *fixture) worker(t testing.TB) *Worker {
	t.Helper()
	w, err := NewWorker(f.store, WorkerOptions{DataDir: dataDir, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// drain runs batches of the study on w until none is claimed, naming them
// prefix-1, prefix-2, …
func drain(ctx context.Context, w *Worker, p tenancy.Principal, id, prefix string) error {
	for i := 1; ; i++ {
		pr, err := w.RunBatch(ctx, p, id, fmt.Sprintf("%s-%d", prefix, i), nil)
		if err != nil {
			return err
		}
		if pr.Counts == (Counts{}) && pr.Asked == 0 {
			return nil
		}
	}
}

// checkTrials checks the study holds exactly trials 1 … n, each told once.
func (f *fixture) checkTrials(t *testing.T, id string, n int) []Trial {
	t.Helper()
	trials, err := f.store.Trials(context.Background(), f.p, id, ByNumber, 0, n+10)
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != n {
		t.Fatalf("%d trials stored, want %d", len(trials), n)
	}
	for i, tr := range trials {
		if tr.Number != i+1 {
			t.Fatalf("trial %d is numbered %d", i+1, tr.Number)
		}
		if tr.Status != TrialCompleted && tr.Status != TrialFailed {
			t.Fatalf("trial %d is %s", tr.Number, tr.Status)
		}
	}
	return trials
}

func TestTwoWorkersCompleteAStudy(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, tg dbtest.Target) {
		d := tg.Open(t)
		if err := d.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		f := setup(t, d)
		st := f.create(t, Spec{Spaces: []string{"buy", "roi", "stoploss"}, Epochs: 30, Sampler: "tpe", Seed: 7, Batch: 4})
		// A second worker on another handle, as another process would.
		f2 := &fixture{d: tg.Open(t), p: f.p}
		f2.store = NewStore(f2.d, runs.New(f2.d, nil, 3, nil), nil)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, w := range []*Worker{f.worker(t), f2.worker(t)} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = drain(context.Background(), w, f.p, st.ID(), fmt.Sprintf("w%d", i))
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		trials := f.checkTrials(t, st.ID(), 30)
		got, err := f.store.Get(context.Background(), f.p, st.ID())
		if err != nil {
			t.Fatal(err)
		}
		if got.Run.Status != runs.Completed || got.Space == nil || len(got.Space.Dims) == 0 {
			t.Fatalf("study %s, space %v; want completed with its space", got.Run.Status, got.Space)
		}
		var sum Summary
		if err := json.Unmarshal(got.Run.Metrics, &sum); err != nil || sum.Trials != 30 || sum.BestTrial == 0 {
			t.Fatalf("summary %s (%v)", got.Run.Metrics, err)
		}
		best, err := f.store.Trials(context.Background(), f.p, st.ID(), ByLoss, 0, 1)
		if err != nil || len(best) != 1 || best[0].Number != sum.BestTrial {
			t.Fatalf("best %+v (%v), summary says trial %d", best, err, sum.BestTrial)
		}
		for _, tr := range trials {
			if tr.Status == TrialCompleted && (tr.Params.Params["fast"] == nil || tr.Params.Risk.Stoploss == 0) {
				t.Fatalf("trial %d stored without its parameters: %+v", tr.Number, tr.Params)
			}
		}
	})
}

func TestKilledWorkerLosesOnlyItsBatch(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		st := f.create(t, Spec{Spaces: []string{"buy", "roi", "stoploss"}, Epochs: 20, Seed: 3, Batch: 6})
		ctx, kill := context.WithCancel(context.Background())
		w := f.worker(t)
		var once sync.Once
		w.afterTrial = func(int) { once.Do(kill) } // killed mid-batch
		if _, err := w.RunBatch(ctx, f.p, st.ID(), "killed", nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("killed batch: %v, want context.Canceled", err)
		}
		held, err := f.store.Trials(context.Background(), f.p, st.ID(), ByNumber, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(held) != 6 {
			t.Fatalf("%d trials after the kill, want the batch's 6 still held", len(held))
		}
		for _, tr := range held {
			if tr.Status != TrialRunning {
				t.Fatalf("trial %d of the killed batch is %s: recorded half a batch", tr.Number, tr.Status)
			}
		}
		// Other workers carry on; the killed job is re-run under its name
		// (River re-delivers the same job), last.
		w2 := f.worker(t)
		if err := drain(context.Background(), w2, f.p, st.ID(), "other"); err != nil {
			t.Fatal(err)
		}
		pr, err := w2.RunBatch(context.Background(), f.p, st.ID(), "killed", nil)
		if err != nil {
			t.Fatal(err)
		}
		if pr.Counts.Done() != 20 {
			t.Fatalf("after the re-run %d trials told, want 20", pr.Counts.Done())
		}
		trials := f.checkTrials(t, st.ID(), 20)
		for i, tr := range held {
			if fmt.Sprint(trials[tr.Number-1].Point) != fmt.Sprint(held[i].Point) {
				t.Fatalf("trial %d re-run at another point", tr.Number)
			}
		}
		// A late duplicate of the killed job changes nothing.
		if pr, err := w2.RunBatch(context.Background(), f.p, st.ID(), "killed", nil); err != nil || pr.Asked != 0 {
			t.Fatalf("duplicate job: %+v, %v", pr, err)
		}
		f.checkTrials(t, st.ID(), 20)
		if got, _ := f.store.Get(context.Background(), f.p, st.ID()); got.Run.Status != runs.Completed {
			t.Fatalf("study %s, want completed", got.Run.Status)
		}
	})
}

func TestRandomStudyIsTheSameOnOneOrTwoWorkers(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		spec := Spec{Spaces: []string{"buy", "roi"}, Epochs: 12, Seed: 11, Batch: 3}
		one, two := f.create(t, spec), f.create(t, spec)
		if err := drain(context.Background(), f.worker(t), f.p, one.ID(), "a"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = drain(context.Background(), f.worker(t), f.p, two.ID(), fmt.Sprint("b", i))
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		a, b := f.checkTrials(t, one.ID(), 12), f.checkTrials(t, two.ID(), 12)
		for i := range a {
			if fmt.Sprint(a[i].Point, a[i].Loss) != fmt.Sprint(b[i].Point, b[i].Loss) {
				t.Fatalf("trial %d: %v (loss %v) on one worker, %v (loss %v) on two", i+1, a[i].Point, a[i].Loss, b[i].Point, b[i].Loss)
			}
		}
	})
}

func TestFailedTrialsAreRecordedAndStopTheStudyPastTheShare(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		// sma_cross refuses fast ≥ slow: a good share of the buy space.
		lenient := f.create(t, Spec{Spaces: []string{"buy"}, Epochs: 24, Seed: 5, Batch: 8, FailShare: 1})
		if err := drain(context.Background(), f.worker(t), f.p, lenient.ID(), "a"); err != nil {
			t.Fatal(err)
		}
		trials := f.checkTrials(t, lenient.ID(), 24)
		failed := 0
		for _, tr := range trials {
			if tr.Status == TrialFailed {
				failed++
				if tr.Error == "" {
					t.Fatalf("failed trial %d without its error", tr.Number)
				}
			}
		}
		if failed == 0 {
			t.Fatal("no trial failed: the test proves nothing")
		}
		if got, _ := f.store.Get(context.Background(), f.p, lenient.ID()); got.Run.Status != runs.Completed {
			t.Fatalf("lenient study %s (%s)", got.Run.Status, got.Run.Error)
		}
		strict := f.create(t, Spec{Spaces: []string{"buy"}, Epochs: 200, Seed: 5, Batch: 8, FailShare: 0.01})
		if err := drain(context.Background(), f.worker(t), f.p, strict.ID(), "b"); err != nil {
			t.Fatal(err)
		}
		got, _ := f.store.Get(context.Background(), f.p, strict.ID())
		if got.Run.Status != runs.Failed || got.Counts.Done() >= 200 {
			t.Fatalf("strict study %s after %d trials, want failed early", got.Run.Status, got.Counts.Done())
		}
	})
}

func TestCancelAndResume(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		st := f.create(t, Spec{Spaces: []string{"roi", "stoploss"}, Epochs: 16, Seed: 2, Batch: 4})
		w := f.worker(t)
		ctx := context.Background()
		if _, err := w.RunBatch(ctx, f.p, st.ID(), "a", nil); err != nil {
			t.Fatal(err)
		}
		// A batch claimed, then the study cancelled before it reports.
		if _, err := f.store.Claim(ctx, f.p, st.ID(), "held", w.envs[st.ID()].dims); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Cancel(ctx, f.p, st.ID()); err != nil {
			t.Fatal(err)
		}
		if pr, err := w.RunBatch(ctx, f.p, st.ID(), "b", nil); err != nil || pr.Asked != 0 {
			t.Fatalf("a cancelled study ran a batch: %+v, %v", pr, err)
		}
		got, err := f.store.Resume(ctx, f.p, st.ID(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Run.Status != runs.Queued || got.Counts.Pending != 4 || got.Counts.Done() != 4 {
			t.Fatalf("resumed: %s, %+v", got.Run.Status, got.Counts)
		}
		if err := drain(ctx, w, f.p, st.ID(), "c"); err != nil {
			t.Fatal(err)
		}
		f.checkTrials(t, st.ID(), 16)
		if got, _ := f.store.Get(ctx, f.p, st.ID()); got.Run.Status != runs.Completed {
			t.Fatalf("study %s", got.Run.Status)
		}
	})
}

func TestAnotherTenantsStudyIsNotFound(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		st := f.create(t, Spec{Spaces: []string{"roi"}, Epochs: 4})
		u, err := tenancy.New(d, nil, nil).CreateUser(context.Background(), "bob", "other")
		if err != nil {
			t.Fatal(err)
		}
		bob := tenancy.Principal{Tenant: u.Tenant, User: u.ID}
		ctx := context.Background()
		if _, err := f.store.Get(ctx, bob, st.ID()); !IsNotFound(err) {
			t.Fatalf("get: %v", err)
		}
		if _, err := f.store.Cancel(ctx, bob, st.ID()); !IsNotFound(err) {
			t.Fatalf("cancel: %v", err)
		}
		if _, err := f.store.Trials(ctx, bob, st.ID(), ByNumber, 0, 10); !IsNotFound(err) {
			t.Fatalf("trials: %v", err)
		}
		if _, err := f.store.Claim(ctx, bob, st.ID(), "x", nil); !IsNotFound(err) {
			t.Fatalf("claim: %v", err)
		}
		list, _, err := f.store.List(ctx, bob, "", "", 10)
		if err != nil || len(list) != 0 {
			t.Fatalf("bob lists %d studies (%v)", len(list), err)
		}
	})
}

func TestSpecErrorsNameTheField(t *testing.T) {
	for field, spec := range map[string]Spec{
		"epochs":     {Epochs: 0},
		"spaces":     {Epochs: 1, Spaces: []string{"nope"}},
		"loss":       {Epochs: 1, Loss: "nope"},
		"sampler":    {Epochs: 1, Sampler: "nope"},
		"batch":      {Epochs: 1, Batch: MaxBatch + 1},
		"parallel":   {Epochs: 1, Parallel: -1},
		"fail_share": {Epochs: 1, FailShare: 2},
		"min_trades": {Epochs: 1, MinTrades: -1},
	} {
		err := spec.WithDefaults().Validate()
		if err == nil || !containsField(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
	if err := (Spec{Epochs: 1}).WithDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
}

func containsField(msg, field string) bool {
	return len(msg) >= len(field)+1 && msg[:len(field)+1] == field+":"
}

func TestBestExportAndImportance(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		st := f.create(t, Spec{Spaces: []string{"buy", "stoploss"}, Epochs: 12, Seed: 9, Batch: 6})
		ctx := context.Background()
		if _, _, err := f.store.BestParamsFile(ctx, f.p, st); !errors.Is(err, ErrNoBest) {
			t.Fatalf("export before any trial: %v", err)
		}
		if err := drain(ctx, f.worker(t), f.p, st.ID(), "a"); err != nil {
			t.Fatal(err)
		}
		st, err := f.store.Get(ctx, f.p, st.ID())
		if err != nil {
			t.Fatal(err)
		}
		pf, best, err := f.store.BestParamsFile(ctx, f.p, st)
		if err != nil {
			t.Fatal(err)
		}
		if pf.StrategyName != "sma_cross" || fmt.Sprint(pf.Params.Buy["fast"]) != fmt.Sprint(best.Params.Params["fast"]) || pf.Params.Stoploss.Stoploss != best.Params.Risk.Stoploss {
			t.Fatalf("params file %+v of best trial %+v", pf, best.Params)
		}
		imp, err := f.store.Importance(ctx, f.p, st)
		if err != nil || len(imp) != len(st.Space.Dims) {
			t.Fatalf("importance %v (%v), want one per dimension", imp, err)
		}
	})
}

// A rebuilt TPE is told only the best and the latest trials: it proposes
// what a TPE told every trial proposes.
func TestRebuiltTPEMatchesTheFullHistory(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		const n = 700
		st := f.create(t, Spec{Spaces: []string{"roi"}, Epochs: n + 1, Sampler: "tpe", Seed: 1, Batch: 100})
		dims := sample.Space{{Name: "x", Low: -3, High: 3}, {Name: "k", Low: 1, High: 9, Int: true}}
		var all []Claimed
		for i := 0; len(all) < n; i++ {
			c, err := f.store.Claim(ctx, f.p, st.ID(), fmt.Sprint("b", i), dims)
			if err != nil {
				t.Fatal(err)
			}
			res := make([]Result, len(c))
			for k, cl := range c {
				res[k] = Result{Trial: optimize.Trial{Number: cl.Number, Point: cl.Point, Loss: (cl.Point[0]-1)*(cl.Point[0]-1) + cl.Point[1]}}
			}
			if _, err := f.store.Finish(ctx, f.p, st.ID(), fmt.Sprint("b", i), res, nil); err != nil {
				t.Fatal(err)
			}
			all = append(all, c...)
		}
		spec := st.Spec
		var got []float64
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			smp, _, err := f.store.rebuild(ctx, tx, st.ID(), spec, dims, n)
			if err == nil {
				got, err = smp.Ask()
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		full, err := sample.New("tpe", dims, spec.Seed+n)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range all {
			if err := full.Tell(c.Point, (c.Point[0]-1)*(c.Point[0]-1)+c.Point[1]); err != nil {
				t.Fatal(err)
			}
		}
		want, _ := full.Ask()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("rebuilt TPE proposes %v, told every trial %v", got, want)
		}
	})
}

// Finish keeps every trial's daily Sharpe ratio and the daily returns of
// the trials among the best when they finished and of an even sample;
// Restore rebuilds the study's overfitting figures from them.
func TestTrialsKeepWhatTheOverfittingFiguresNeed(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		const n, epochs = 90, 1200 // a sample of every 3rd trial
		st := f.create(t, Spec{Spaces: []string{"roi"}, Epochs: epochs, Seed: 1, Batch: 10})
		if err := f.store.SetSpace(ctx, f.p, st.ID(), Space{Spaces: []string{"roi"}, Dims: sample.Space{{Name: "x", Low: 0, High: 1}}}); err != nil {
			t.Fatal(err)
		}
		dims := sample.Space{{Name: "x", Low: 0, High: 1}}
		loss := func(n int) float64 { return float64((n * 37) % 101) }
		returns := func(n int) []float64 {
			r := make([]float64, 40)
			for i := range r {
				r[i] = 0.001 * float64((n*7+i*13)%17-8)
			}
			return r
		}
		want := map[int]bool{}
		var told []float64
		for i := 0; len(told) < n; i++ {
			c, err := f.store.Claim(ctx, f.p, st.ID(), fmt.Sprint("b", i), dims)
			if err != nil {
				t.Fatal(err)
			}
			res := make([]Result, len(c))
			for k, cl := range c {
				l := loss(cl.Number)
				better := 0
				for _, o := range told {
					if o < l {
						better++
					}
				}
				want[cl.Number] = (cl.Number-1)%3 == 0 || better < optimize.OverfitTop
				res[k] = Result{Trial: optimize.Trial{Number: cl.Number, Point: cl.Point, Loss: l}, Returns: returns(cl.Number)}
				told = append(told, l) // Finish ranks each trial after those before it in the batch
			}
			if _, err := f.store.Finish(ctx, f.p, st.ID(), fmt.Sprint("b", i), res, nil); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := d.Query(ctx, `SELECT number, daily_sharpe IS NOT NULL, daily_returns != '' FROM study_trials WHERE study_id = ? ORDER BY number`, st.ID())
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		kept := 0
		for rows.Next() {
			var num int
			var hasSharpe, hasReturns bool
			if err := rows.Scan(&num, &hasSharpe, &hasReturns); err != nil {
				t.Fatal(err)
			}
			if !hasSharpe || hasReturns != want[num] {
				t.Errorf("trial %d: daily Sharpe kept %v, returns kept %v (want %v)", num, hasSharpe, hasReturns, want[num])
			}
			if hasReturns {
				kept++
			}
		}
		if kept >= n || kept < n/3 {
			t.Fatalf("%d of %d trials kept their returns", kept, n)
		}
		st, err = f.store.Get(ctx, f.p, st.ID())
		if err != nil {
			t.Fatal(err)
		}
		restored, err := f.store.Restore(ctx, f.p, st)
		if err != nil {
			t.Fatal(err)
		}
		o := restored.Overfitting()
		if len(restored.Trials) != n || o.Trials != n || o.Periods != 40 || len(o.Kept) != kept || math.IsNaN(o.DSR) || math.IsNaN(o.PBO) {
			t.Fatalf("restored %d trials; figures %+v", len(restored.Trials), o)
		}
		// Studies stored the returns as JSON before: such rows read the
		// same, and give the same figures.
		stored := map[int]string{}
		rows, err = d.Query(ctx, `SELECT number, daily_returns FROM study_trials WHERE study_id = ? AND daily_returns != ''`, st.ID())
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var num int
			var enc string
			if err := rows.Scan(&num, &enc); err != nil {
				t.Fatal(err)
			}
			stored[num] = enc
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		for num, enc := range stored {
			got, err := decodeReturns(enc)
			if err != nil || !slices.Equal(got, returns(num)) {
				t.Fatalf("trial %d: returns read back as %v (%v), want %v", num, got, err, returns(num))
			}
			old, _ := json.Marshal(returns(num))
			if _, err := d.Exec(ctx, `UPDATE study_trials SET daily_returns = ? WHERE study_id = ? AND number = ?`, string(old), st.ID(), num); err != nil {
				t.Fatal(err)
			}
		}
		fromJSON, err := f.store.Restore(ctx, f.p, st)
		if err != nil {
			t.Fatal(err)
		}
		if j := fromJSON.Overfitting(); fmt.Sprint(j) != fmt.Sprint(o) {
			t.Fatalf("figures from JSON returns %+v, from stored ones %+v", j, o)
		}
	})
}

// A batch of the most trials a spec allows is claimed and recorded in one
// statement each, within both databases' limits on bound values.
func TestLargestBatch(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		st := f.create(t, Spec{Spaces: []string{"roi"}, Epochs: MaxBatch, Seed: 1, Batch: MaxBatch})
		dims := sample.Space{{Name: "x", Low: 0, High: 1}}
		c, err := f.store.Claim(ctx, f.p, st.ID(), "b", dims)
		if err != nil || len(c) != MaxBatch {
			t.Fatalf("claimed %d trials: %v", len(c), err)
		}
		res := make([]Result, len(c))
		for i, cl := range c {
			res[i] = Result{Trial: optimize.Trial{Number: cl.Number, Point: cl.Point, Loss: cl.Point[0]}, Returns: []float64{0.01, -0.02, 0.005}}
		}
		pr, err := f.store.Finish(ctx, f.p, st.ID(), "b", res, nil)
		if err != nil || pr.Counts.Completed != MaxBatch || pr.More {
			t.Fatalf("recorded %+v: %v", pr, err)
		}
		f.checkTrials(t, st.ID(), MaxBatch)
	})
}

// A trial's daily returns are stored exactly, in fewer bytes than their
// JSON; a stored value that is neither form is an error.
func TestReturnsEncoding(t *testing.T) {
	rs := []float64{0.0123456789012345, -0.0987654321098765, 0, math.Copysign(0, -1), 5e-324, -1e300, 1.0 / 3}
	enc := encodeReturns(rs)
	got, err := decodeReturns(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rs {
		if math.Float64bits(got[i]) != math.Float64bits(rs[i]) {
			t.Fatalf("value %d: %v read back as %v", i, rs[i], got[i])
		}
	}
	if js, _ := json.Marshal(rs); len(enc) >= len(js) {
		t.Errorf("%d bytes stored, %d as JSON", len(enc), len(js))
	}
	if empty, err := decodeReturns(encodeReturns(nil)); err != nil || len(empty) != 0 {
		t.Errorf("no returns read back as %v, %v", empty, err)
	}
	for _, bad := range []string{"AAAA", "!!", "[1,"} {
		if _, err := decodeReturns(bad); err == nil {
			t.Errorf("%q was read", bad)
		}
	}
}

// Close while a batch runs must not release the study's data under it:
// the candles are mapped from the store's files, and reading them after
// the unmap would crash the process. The batch finishes on its data; the
// last user releases it.
func TestCloseWaitsForRunningBatches(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		st := f.create(t, Spec{Spaces: []string{"buy", "roi", "stoploss"}, Epochs: 8, Seed: 5, Batch: 8})
		w := f.worker(t)
		var once sync.Once
		var released, early atomic.Int32
		w.afterTrial = func(int) {
			early.Add(released.Load())
			once.Do(func() {
				w.mu.Lock()
				e := w.envs[st.ID()]
				rel := e.release
				e.release = func() error { released.Add(1); return rel() }
				w.mu.Unlock()
				w.Close() // the batch is still running
			})
		}
		pr, err := w.RunBatch(context.Background(), f.p, st.ID(), "b", nil)
		if err != nil {
			t.Fatal(err)
		}
		if pr.Ran != 8 || early.Load() != 0 || released.Load() != 1 {
			t.Fatalf("batch ran %d trials, %d of them after the data was released, released %d times; want 8, none, once", pr.Ran, early.Load(), released.Load())
		}
		if _, err := w.RunBatch(context.Background(), f.p, st.ID(), "late", nil); !errors.Is(err, ErrWorkerClosed) {
			t.Fatalf("a batch after Close: %v, want ErrWorkerClosed", err)
		}
	})
}

// A worker may claim several batches at once of a study whose sampler
// learns nothing (random, grid): the trials are those of claims of one
// batch each, number for number, point for point. A learning sampler's
// claim is one batch, and the last claims of a study shrink so that its
// Parallel claimants end together.
func TestClaimSeveralBatches(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		dims := sample.Space{{Name: "x", Low: -3, High: 3}, {Name: "k", Low: 1, High: 4, Int: true}}
		// points claims a study of spec to its end, units batches at a
		// time, and returns its points by number and each claim's size.
		points := func(spec Spec, units int) ([][]float64, []int) {
			st := f.create(t, spec)
			var all [][]float64
			var sizes []int
			for i := 0; ; i++ {
				c, _, err := f.store.claim(ctx, f.p, st.ID(), fmt.Sprint("b", i), dims, units)
				if err != nil {
					t.Fatal(err)
				}
				if len(c) == 0 {
					return all, sizes
				}
				sizes = append(sizes, len(c))
				res := make([]Result, len(c))
				for k, cl := range c {
					if cl.Number != len(all)+1 {
						t.Fatalf("trial %d claimed after %d", cl.Number, len(all))
					}
					all = append(all, cl.Point)
					res[k] = Result{Trial: optimize.Trial{Number: cl.Number, Point: cl.Point, Loss: cl.Point[0] * cl.Point[0]}}
				}
				if _, err := f.store.Finish(ctx, f.p, st.ID(), fmt.Sprint("b", i), res, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, sampler := range []string{"random", "grid"} {
			spec := Spec{Spaces: []string{"roi"}, Epochs: 100, Sampler: sampler, Seed: 3, Batch: 5, Parallel: 2}
			one, _ := points(spec, 1)
			many, sizes := points(spec, 4)
			if !reflect.DeepEqual(one, many) {
				t.Fatalf("%s: claims of 4 batches proposed\n%v\nclaims of one\n%v", sampler, many, one)
			}
			// 20 batches to ask: 4 at a time while 8 or more are left
			// (shared by 2 claimants), then 2 of 4, 1 of 2, 1 of 1.
			if want := []int{20, 20, 20, 20, 10, 5, 5}; sampler == "random" && !reflect.DeepEqual(sizes, want) {
				t.Fatalf("claims of %v trials, want %v", sizes, want)
			}
		}
		_, sizes := points(Spec{Spaces: []string{"roi"}, Epochs: 20, Sampler: "tpe", Seed: 3, Batch: 5}, 4)
		if want := []int{5, 5, 5, 5}; !reflect.DeepEqual(sizes, want) {
			t.Fatalf("a tpe study's claims of %v trials, want %v", sizes, want)
		}
	})
}

// A worker killed during a claim of several batches (a quick random
// study) loses that claim only: re-run under its name it runs the same
// trials again, and each is told once.
func TestKilledWorkerLosesOnlyItsClaimOfSeveralBatches(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		st := f.create(t, Spec{Spaces: []string{"roi", "stoploss"}, Epochs: 60, Seed: 5, Batch: 4})
		w := f.worker(t)
		if _, err := w.RunBatch(context.Background(), f.p, st.ID(), "first", nil); err != nil {
			t.Fatal(err)
		}
		// Its trials as quick as can be: the claim is capped at the
		// study's share of the 14 batches left, 7.
		w.mu.Lock()
		w.envs[st.ID()].trial = time.Nanosecond
		w.mu.Unlock()
		ctx, kill := context.WithCancel(context.Background())
		var once sync.Once
		w.afterTrial = func(int) { once.Do(kill) }
		if _, err := w.RunBatch(ctx, f.p, st.ID(), "killed", nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("killed claim: %v, want context.Canceled", err)
		}
		got, err := f.store.Get(context.Background(), f.p, st.ID())
		if err != nil || got.Counts.Running != 28 || got.Counts.Done() != 4 {
			t.Fatalf("after the kill %+v (%v), want 28 running and 4 told", got.Counts, err)
		}
		w2 := f.worker(t)
		if err := drain(context.Background(), w2, f.p, st.ID(), "other"); err != nil {
			t.Fatal(err)
		}
		if pr, err := w2.RunBatch(context.Background(), f.p, st.ID(), "killed", nil); err != nil || pr.Ran != 28 || pr.Counts.Done() != 60 {
			t.Fatalf("the re-run: %+v, %v; want its 28 trials run and 60 told", pr, err)
		}
		f.checkTrials(t, st.ID(), 60)
		if got, _ := f.store.Get(context.Background(), f.p, st.ID()); got.Run.Status != runs.Completed {
			t.Fatalf("study %s, want completed", got.Run.Status)
		}
	})
}
