package platform_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/drift"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/simserver"
	"github.com/tradai/tradai/sdk"
)

// The synthetic market of the lifecycle proof: BTC/USDT 5m candles.
var (
	marketStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// regimeChange is where the slow swing becomes a rippled trend.
	regimeChange = time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	marketEnd    = time.Date(2026, 1, 21, 0, 0, 0, 0, time.UTC)
)

// writeRegimeMarket writes the proof's market into dataDir: until
// regimeChange a slow swing (±3 % over 240 candles, 20 hours) whose turns
// SMA(10) crossing SMA(30) catches — one trade a swing, about 5 % each —;
// from then a trend of 4 % a day under a fast ripple (±1 % over 12
// candles), on which those averages cross every hour for little and other
// periods do far better. A little seeded noise on every close.
func writeRegimeMarket(t *testing.T, dataDir string) {
	t.Helper()
	r := rand.New(rand.NewPCG(18, 2))
	f := &sdk.Frame{Pair: "BTC/USDT", Timeframe: "5m"}
	const candle = 5 * time.Minute
	prev := 100.0
	for at := marketStart; at.Before(marketEnd); at = at.Add(candle) {
		var c float64
		if i := float64(at.Sub(marketStart) / candle); at.Before(regimeChange) {
			c = 100 * (1 + 0.03*math.Sin(2*math.Pi*i/240))
		} else {
			j := float64(at.Sub(regimeChange) / candle)
			c = 100 * math.Exp(0.04*j/288) * (1 + 0.01*math.Sin(2*math.Pi*j/12))
		}
		c *= 1 + 0.0005*r.NormFloat64()
		f.Time = append(f.Time, at.UnixMilli())
		f.Open, f.Close = append(f.Open, prev), append(f.Close, c)
		f.High, f.Low = append(f.High, max(prev, c)*1.0005), append(f.Low, min(prev, c)*0.9995)
		f.Volume = append(f.Volume, 1000)
		prev = c
	}
	if err := os.MkdirAll(filepath.Join(dataDir, "binance"), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := os.Create(filepath.Join(dataDir, "binance", "BTC_USDT-5m.feather"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := datafile.WriteFeather(w, f, false); err != nil {
		t.Fatal(err)
	}
}

// alertSink is an alert webhook keeping the drift alerts it got.
type alertSink struct {
	mu     sync.Mutex
	alerts []platform.DriftAlert
}

func (s *alertSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var a platform.DriftAlert
	if b, err := io.ReadAll(r.Body); err != nil || json.Unmarshal(b, &a) != nil {
		http.Error(w, "bad alert", http.StatusBadRequest)
		return
	}
	if a.Type == "deployment.drift" {
		s.mu.Lock()
		s.alerts = append(s.alerts, a)
		s.mu.Unlock()
	}
}

func (s *alertSink) drifts() []platform.DriftAlert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]platform.DriftAlert(nil), s.alerts...)
}

// logBuffer is a log destination safe for concurrent writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tgzOf is a tar.gz archive of files (name → content).
func tgzOf(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The strategy lifecycle, end to end (issue 18's proof): a paper
// deployment of a registry version (the Python sma_cross example, its
// defaults SMA(10) over SMA(30)) trades the simulator's replay of a
// market whose regime changes under it; its live trades stop looking
// like its backtest's and the drift alarm fires — in the API, on the
// metrics, at the alert webhook —; the scheduled re-optimisation, fired
// by the lifecycle's tick on the replay's clock, studies the new regime,
// exports its best parameters as a new version, backtests it beside the
// champion on the days after the study's window, finds it better by more
// than the margin with overfitting figures that pass, and waits; an
// approval through the API promotes it in the registry, audited.
func TestLifecycleThroughARegimeChange(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("the proof's strategy is the Python example: python3 is not on the PATH")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "data")
	writeRegimeMarket(t, dataDir)
	home := filepath.Join(t.TempDir(), "home")
	t.Cleanup(func() { // the registry's version folders are read-only
		filepath.WalkDir(filepath.Join(home, "strategies"), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o700)
			}
			return nil
		})
	})
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, filepath.Join(home, "tradai.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the platform's warnings and errors:\n%s", logs)
		}
	})
	sink := &alertSink{}
	hooks := httptest.NewServer(sink)
	t.Cleanup(hooks.Close)

	// The deployment starts an hour before the change.
	t0 := regimeChange.Add(-time.Hour)
	clk := clock.NewFake(t0)
	p, err := platform.New(platform.Config{
		Home: home, DataDir: dataDir, DB: d, Addr: "127.0.0.1:0", Workers: 2, AllowExternalStrategies: true,
		Sim: &simserver.Config{Pairs: []string{"BTC/USDT"}, Timeframe: "5m", Addr: "127.0.0.1:0", Speed: 1, SpeedGiven: true, Start: t0,
			Engine: sim.DefaultConfig(), WeightLimit: -1},
		Runner:       &platform.RunnerConfig{Name: "lifecycle-runner"},
		API:          api.Options{RateLimit: 1e6},
		AlertWebhook: hooks.URL,
		// A verdict from 5 closed live trades: the test trades hours, not
		// the weeks the default 20 take on a real market.
		Drift: drift.Thresholds{MinTrades: 5},
		Clock: clk, Version: "test", DrainAPI: time.Millisecond,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("shutdown: %v", err)
		}
	})
	token, err := os.ReadFile(p.TokenFile())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(p.URL(), strings.TrimSpace(string(token)), client.Options{PollMin: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}

	// The champion: the Python example pushed as trend@1.
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "strategies", "python", "sma_cross.py"))
	if err != nil {
		t.Fatal(err)
	}
	v1, err := c.PushStrategy(ctx, "trend", tgzOf(t, map[string][]byte{"sma_cross.py": src}), client.PushOptions{Message: "the example"})
	if err != nil || v1.Version != 1 || len(v1.Spec.Params) != 2 {
		t.Fatalf("push: %+v, %v", v1, err)
	}
	// Its risk settings are the deployment's: no ROI exit, a 10 % stop.
	dep, err := c.CreateDeployment(ctx, apitype.DeploymentRequest{Strategy: "trend@1", Mode: "paper", Venue: "sim", Account: "paper1",
		Pairs: []string{"BTC/USDT"}, Timeframe: "5m", Config: map[string]any{"stake_currency": "USDT", "stake_amount": "unlimited",
			"dry_run_wallet": 1000, "max_open_trades": 1, "fee": 0.001, "minimal_roi": map[string]any{"0": 10}, "stoploss": -0.1}})
	if err != nil {
		t.Fatal(err)
	}
	show := func() apitype.Deployment {
		t.Helper()
		x, err := c.Deployment(ctx, dep.ID)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	clk.Advance(10 * time.Second) // the runner takes it at its heartbeat
	poll(t, "the deployment to run", func() bool { return show().State == "running" })

	// Candle by candle through the change, until the alarm (at most 12
	// hours after it).
	var alarm *apitype.DeploymentDrift
	for at := t0; alarm == nil; {
		if at.After(regimeChange.Add(12 * time.Hour)) {
			x := show()
			t.Fatalf("no drift alarm 12 hours after the change: %+v (summary %+v, drift %+v)", x, x.Summary, x.Drift)
		}
		at = at.Add(5 * time.Minute)
		clk.Set(at)
		// The list, which computes no drift, says when the tick is done;
		// then the deployment's GET computes the drift once.
		poll(t, "the tick at "+at.String(), func() bool {
			l, err := c.Deployments(ctx)
			if err != nil || len(l) != 1 {
				t.Fatalf("deployments %+v, %v", l, err)
			}
			return l[0].LastTick != nil && !l[0].LastTick.Before(at)
		})
		if x := show(); x.Drift != nil && x.Drift.Drifted {
			if !at.After(regimeChange) {
				t.Fatalf("the alarm fired before the change, at %v: %+v", at, x.Drift)
			}
			alarm = x.Drift
			t.Logf("the drift alarm at %v, %v after the change: %s (%d closed trades)", at, at.Sub(regimeChange), x.Drift.Verdict, x.Summary.ClosedTrades)
		}
	}
	if !alarm.Enough || alarm.Score < 1 || !strings.HasPrefix(alarm.Verdict, "drift:") {
		t.Errorf("the alarm: %+v", alarm)
	}
	poll(t, "the drift alert at the webhook", func() bool { return len(sink.drifts()) > 0 })
	if a := sink.drifts(); len(a) != 1 || a[0].Deployment != dep.ID || a[0].Score < 1 {
		t.Errorf("webhook alerts %+v, want one for %s", a, dep.ID)
	}
	if g := scrape(t, p.URL()+"/metrics")[`tradai_deployment_drift_score{deployment="`+dep.ID+`"}`]; g < 1 {
		t.Errorf("drift gauge %v, want at least 1", g)
	}

	// The re-optimisation: daily, a study on the 4 days before the last,
	// champion and challenger backtested on that last day. The deployment
	// is stopped and the clock moves on five days: the runner is not what
	// is proved from here on.
	if _, err := c.StopDeployment(ctx, dep.ID, false); err != nil {
		t.Fatal(err)
	}
	sc, err := c.CreateSchedule(ctx, apitype.ScheduleRequest{Deployment: dep.ID, Action: "reoptimise", Cron: "0 0 * * *", WindowDays: 4, HoldoutDays: 1,
		Epochs: 30, Seed: 1, Margin: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	due := regimeChange.AddDate(0, 0, 5)
	clk.Set(due.Add(time.Minute))
	life := p.Lifecycle()
	challenger := func() apitype.Challenger {
		t.Helper()
		if err := life.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		cs, err := c.Challengers(ctx)
		if err != nil || len(cs) != 1 {
			t.Fatalf("challengers %+v, %v; want one", cs, err)
		}
		if cs[0].State == "failed" || cs[0].State == "rejected" {
			t.Fatalf("challenger %s: %s", cs[0].State, cs[0].Reason)
		}
		return cs[0]
	}
	ch := challenger()
	if ch.Schedule != sc.ID || ch.ChampionVersion != 1 || ch.Holdout != "20260119-20260120" || ch.State != "optimising" {
		t.Fatalf("the fired schedule's challenger: %+v", ch)
	}
	st, err := c.Study(ctx, ch.Study, 1)
	if err != nil || st.Tags["schedule"] != sc.ID || st.StrategyVersion != 1 || strings.Join(st.Spaces, " ") != "buy" {
		t.Fatalf("its study: %+v, %v", st, err)
	}
	poll(t, "the study", func() bool {
		st, err := c.Study(ctx, ch.Study, 0)
		if err != nil || st.Status == "failed" || st.Status == "dead_letter" {
			t.Fatalf("study: %+v, %v", st, err)
		}
		return st.Status == "completed"
	})
	if ch = challenger(); ch.State != "backtesting" || ch.Version != 2 {
		t.Fatalf("after the study: %+v", ch)
	}
	for _, id := range []string{ch.ChampionRun, ch.ChallengerRun} {
		if r, err := c.Wait(ctx, id, nil); err != nil || r.Status != client.Completed {
			t.Fatalf("backtest %s: %+v, %v", id, r, err)
		}
	}
	if ch = challenger(); ch.State != "pending" || !(ch.ChallengerMetric > ch.ChampionMetric+0.01) || ch.DSR == nil || *ch.DSR < 0.5 {
		t.Fatalf("after the backtests: %+v", ch)
	}
	// The challenger is the champion's code with the study's best
	// parameters beside it, which it declares as its defaults.
	v2, err := c.StrategyVersion(ctx, "trend", "2")
	if err != nil || len(v2.Spec.Params) != 2 || v2.Spec.Params[0].Default == v1.Spec.Params[0].Default && v2.Spec.Params[1].Default == v1.Spec.Params[1].Default {
		t.Fatalf("the challenger's version: %+v, %v", v2, err)
	}
	t.Logf("challenger trend@2: fast %v, slow %v (champion %v, %v)", v2.Spec.Params[0].Default, v2.Spec.Params[1].Default, v1.Spec.Params[0].Default, v1.Spec.Params[1].Default)
	if prod, err := c.StrategyVersion(ctx, "trend", "production"); err == nil {
		t.Fatalf("production before the approval: %+v", prod)
	}

	t.Logf("challenger %s: %s", ch.ID, ch.Reason)
	approved, err := c.ApproveChallenger(ctx, ch.ID, "the trend regime")
	if err != nil || approved.State != "promoted" || approved.DecidedBy == "" {
		t.Fatalf("approve: %+v, %v", approved, err)
	}
	prod, err := c.StrategyVersion(ctx, "trend", "production")
	if err != nil || prod.Version != 2 {
		t.Fatalf("production after the approval: %+v, %v", prod, err)
	}
	for action, target := range map[string]string{"challenger.approve": ch.ID, "strategy.stage": "trend@2", "schedule.create": sc.ID} {
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = ? AND target = ? AND user_id = ?`, action, target, approved.DecidedBy).Scan(&n); err != nil || n != 1 {
			t.Errorf("audit %s %s by %s: %d rows, %v", action, target, approved.DecidedBy, n, err)
		}
	}
}
