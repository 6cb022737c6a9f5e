package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/drift"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/objstore/s3store/s3storetest"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/telemetry"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/internal/trade"
)

const hourMs = int64(time.Hour / time.Millisecond)

// regime makes n closed trades of a synthetic market's regime, entered
// every step hours from start: returns around ret, held hold to 2·hold
// hours.
func regime(r *rand.Rand, n int, start time.Time, step int64, ret float64, hold int64) []trade.Trade {
	out := make([]trade.Trade, n)
	for i := range out {
		open := start.UnixMilli() + int64(i)*step*hourMs
		out[i] = trade.Trade{Pair: "BTC/USDT", OpenTime: open, CloseTime: open + (hold+r.Int64N(hold+1))*hourMs, OpenRate: 100, Amount: 1, Stake: 100,
			ProfitRatio: ret + 0.01*r.NormFloat64()}
	}
	return out
}

// hookBodies is an alert webhook keeping the drift alerts it got.
type hookBodies struct {
	mu     sync.Mutex
	alerts []DriftAlert
}

func (h *hookBodies) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var a DriftAlert
	if err := json.Unmarshal(b, &a); err != nil || a.Type != "deployment.drift" {
		http.Error(w, "bad alert", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.alerts = append(h.alerts, a)
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Two paper deployments of one version, whose backtest traded a market's
// first regime (winning trades held 4 to 8 h, one entry in 6 h): the one
// trading on as before scores below 1 and raises nothing; the one whose
// market changed regime (losing trades held longer, entered twice as
// often) scores above 1 and raises the alert once — an error in the log,
// a DriftAlert POSTed to the webhook, the gauge above 1 — and not again
// while it stays drifted. The reference is backtested once per
// deployment and version.
func TestDriftAlarm(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		clk := clock.NewFake(t0)
		store, err := deploy.New(deploy.Config{DB: d, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		u, err := tenancy.New(d, clk, nil).CreateUser(ctx, "alice", "acme")
		if err != nil {
			t.Fatal(err)
		}
		p := tenancy.Principal{Tenant: u.Tenant, User: u.ID}
		spec := deploy.Spec{Strategy: "sma_cross", Mode: deploy.Paper, Venue: "sim", Account: "a", Pairs: []string{"BTC/USDT"}, Timeframe: "1h"}
		same, err := store.Create(ctx, p, spec)
		if err != nil {
			t.Fatal(err)
		}
		changed, err := store.Create(ctx, p, spec)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(3, 4))
		live := map[string][]trade.Trade{
			same.ID:    regime(r, 40, t0, 6, 0.01, 4),
			changed.ID: regime(r, 40, t0, 3, -0.01, 10),
		}
		leases, err := store.Acquire(ctx, "r1", 2, time.Hour)
		if err != nil || len(leases) != 2 {
			t.Fatalf("leases %v, %v", leases, err)
		}
		for _, l := range leases {
			var w deploy.Write
			for i, tr := range live[l.Deployment] {
				w.Trades = append(w.Trades, deploy.Trade{Seq: int64(i + 1), Record: tr})
			}
			w.Tick = t0.Add(240 * time.Hour)
			if err := store.Record(ctx, l, w); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(241 * time.Hour)

		refStart := t0.AddDate(0, 0, -DefaultReferenceDays)
		var refMu sync.Mutex
		backtests := map[string]int{}
		reference := func(_ context.Context, dep deploy.Deployment) (drift.Sample, error) {
			refMu.Lock()
			backtests[dep.ID]++
			refMu.Unlock()
			rr := rand.New(rand.NewPCG(5, 6))
			return drift.Observe(regime(rr, 120, refStart, 6, 0.01, 4), refStart.UnixMilli(), t0.UnixMilli(), hourMs, 1), nil
		}
		hooks := &hookBodies{}
		srv := httptest.NewServer(hooks)
		defer srv.Close()
		var logs syncBuffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		hook, err := newAlertHook(srv.URL, clk, log)
		if err != nil {
			t.Fatal(err)
		}
		metrics := telemetry.NewMetrics()
		reg := prometheus.NewRegistry()
		reg.MustRegister(metrics.Collectors()...)
		m := newDriftMonitor(store, reference, drift.Thresholds{}, metrics, hook, clk, log)

		for range 2 {
			m.check(ctx)
			hook.wg.Wait()
		}
		gauge := map[string]float64{}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "tradai_deployment_drift_score" {
				for _, mt := range mf.GetMetric() {
					gauge[mt.GetLabel()[0].GetValue()] = mt.GetGauge().GetValue()
				}
			}
		}
		if g := gauge[same.ID]; g >= 1 || g <= 0 {
			t.Errorf("same regime: gauge %v, want in (0, 1)", g)
		}
		if g := gauge[changed.ID]; g <= 1 {
			t.Errorf("changed regime: gauge %v, want above 1", g)
		}
		if backtests[same.ID] != 1 || backtests[changed.ID] != 1 {
			t.Errorf("reference backtests %v, want one each", backtests)
		}
		hooks.mu.Lock()
		got := hooks.alerts
		hooks.mu.Unlock()
		if len(got) != 1 || got[0].Deployment != changed.ID || got[0].Tenant != u.Tenant || got[0].Score <= 1 || !strings.HasPrefix(got[0].Verdict, "drift:") || len(got[0].Features) != 3 {
			t.Errorf("webhook alerts %+v, want one for %s", got, changed.ID)
		}
		if n := strings.Count(logs.String(), "drifted from its backtest"); n != 1 || !strings.Contains(logs.String(), changed.ID) {
			t.Errorf("%d alerts logged:\n%s", n, logs.String())
		}

		// On demand: the same figures, computed now.
		dep, err := store.Get(ctx, p, changed.ID)
		if err != nil {
			t.Fatal(err)
		}
		rep, at, err := m.Drift(ctx, dep)
		if err != nil || !rep.Drifted || rep.Score != gauge[changed.ID] || !at.Equal(clk.Now()) {
			t.Errorf("Drift: %+v at %v, %v", rep, at, err)
		}

		// A stopped deployment's gauge goes at the next check.
		if _, err := store.Stop(ctx, p, same.ID); err != nil {
			t.Fatal(err)
		}
		m.check(ctx)
		hook.wg.Wait()
		if mfs, err = reg.Gather(); err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, mt := range mf.GetMetric() {
				if mf.GetName() == "tradai_deployment_drift_score" && mt.GetLabel()[0].GetValue() == same.ID {
					t.Errorf("the stopped deployment's drift gauge is still there")
				}
			}
		}
	})
}

// driftTrades is a driftStore of one deployment and no trades.
type driftTrades struct{ d deploy.Deployment }

func (s driftTrades) Stale(context.Context, time.Time) ([]deploy.Deployment, error) {
	return []deploy.Deployment{s.d}, nil
}

func (driftTrades) Trades(context.Context, string, string) ([]deploy.Trade, error) { return nil, nil }

// A failed reference backtest (no candles yet) is tried again only after
// the check interval; a new version gets a backtest of its own.
func TestDriftReferenceRetried(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	d := deploy.Deployment{ID: "dep_1", Tenant: "ten_1", Created: clk.Now(), Spec: deploy.Spec{Version: 1, Pairs: []string{"BTC/USDT"}, Timeframe: "1h"}}
	calls := 0
	fail := true
	reference := func(context.Context, deploy.Deployment) (drift.Sample, error) {
		calls++
		if fail {
			return drift.Sample{}, errors.New("no candles")
		}
		return drift.Sample{Returns: []float64{0.01}}, nil
	}
	hook, err := newAlertHook("", clk, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m := newDriftMonitor(driftTrades{d}, reference, drift.Thresholds{}, telemetry.NewMetrics(), hook, clk, slog.New(slog.DiscardHandler))
	for range 2 {
		if _, _, err := m.Drift(t.Context(), d); err == nil || !strings.Contains(err.Error(), "no candles") {
			t.Fatalf("drift with a failing backtest: %v", err)
		}
	}
	if calls != 1 {
		t.Fatalf("%d backtests, want 1", calls)
	}
	fail = false
	clk.Advance(driftEvery)
	for range 2 {
		if r, _, err := m.Drift(t.Context(), d); err != nil || r.Enough {
			t.Fatalf("drift: %+v, %v", r, err)
		}
	}
	d.Spec.Version = 2
	if _, _, err := m.Drift(t.Context(), d); err != nil || calls != 3 {
		t.Fatalf("a new version: %v, %d backtests (want 3)", err, calls)
	}
}

// The reference is a backtest, in the process, of the deployment's
// strategy with its config, pairs and timeframe on the data folder's
// candles (of the simulator's exchange when its config names none): over
// the config's timerange, or the 30 days before the deployment was
// created; the same trades as `tradai backtest` of that.
func TestBacktestReference(t *testing.T) {
	job := &deploymentJob{log: slog.New(slog.DiscardHandler)}
	ref := backtestReference(job, filepath.Join("..", "..", "examples", "data"), market.Options{}, "binance")
	dep := deploy.Deployment{ID: "dep_1", Created: time.Date(2018, 1, 20, 0, 0, 0, 0, time.UTC),
		Spec: deploy.Spec{Strategy: "rsi_bollinger", Mode: deploy.Paper, Venue: "sim", Account: "a", Pairs: []string{"ETH/BTC", "LTC/BTC"}, Timeframe: "5m",
			Config: []byte(`{"stake_currency": "BTC", "dry_run_wallet": 1, "stake_amount": "unlimited", "max_open_trades": 2, "fee": 0.001, "stoploss": -0.05,
				"exchange": {"name": "binance", "pair_whitelist": ["XMR/BTC"]}}`)}}
	direct := func(timerange string) drift.Sample {
		cfg, err := config.Parse(dep.Spec.Config, "test")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Datadir, cfg.Timerange, cfg.Timeframe = filepath.Join("..", "..", "examples", "data"), timerange, "5m"
		cfg.Exchange.Name, cfg.Exchange.PairWhitelist = "binance", dep.Spec.Pairs
		st, err := strategy.Lookup("rsi_bollinger")
		if err != nil {
			t.Fatal(err)
		}
		res, err := backtest.Run(t.Context(), cfg, st, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return drift.Observe(res.Trades, res.Start, res.End+300_000, 300_000, 2)
	}
	got, err := ref(t.Context(), dep)
	if err != nil {
		t.Fatal(err)
	}
	if want := direct("-20180120"); len(got.Returns) < 20 || !reflect.DeepEqual(got, want) {
		t.Errorf("30 days before creation: %d returns, %d windows; the backtest: %d, %d", len(got.Returns), len(got.Frequency), len(want.Returns), len(want.Frequency))
	}
	// A config naming no exchange: the simulator's candles (binance).
	dep.Spec.Config = []byte(`{"stake_currency": "BTC", "dry_run_wallet": 1, "timerange": "20180110-20180115"}`)
	got, err = ref(t.Context(), dep)
	if err != nil {
		t.Fatal(err)
	}
	// At most 5 days of 288 candles: the windows of the candles traded.
	if want := direct("20180110-20180115"); len(got.Frequency) == 0 || len(got.Frequency) > 5*288/drift.Window || !reflect.DeepEqual(got, want) {
		t.Errorf("the config's timerange: %d windows, %d returns; the backtest: %d", len(got.Frequency), len(got.Returns), len(want.Returns))
	}
}

// driftLive is a driftStore of one deployment and its closed trades.
type driftLive struct {
	d      deploy.Deployment
	trades []deploy.Trade
}

func (s driftLive) Stale(context.Context, time.Time) ([]deploy.Deployment, error) {
	return []deploy.Deployment{s.d}, nil
}

func (s driftLive) Trades(context.Context, string, string) ([]deploy.Trade, error) {
	return s.trades, nil
}

// The alert of a drift computed on demand (the API's GET of the
// deployment) reaches the webhook although the request that computed it
// ended at once: the monitor sends it, not the request.
func TestDriftAlertOutlivesTheRequest(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0.Add(241 * time.Hour))
	r := rand.New(rand.NewPCG(3, 4))
	live := driftLive{d: deploy.Deployment{ID: "dep_1", Tenant: "ten_1", Created: t0, LastTick: t0.Add(240 * time.Hour),
		Spec: deploy.Spec{Version: 1, Pairs: []string{"BTC/USDT"}, Timeframe: "1h"}}}
	for i, tr := range regime(r, 40, t0, 3, -0.01, 10) {
		live.trades = append(live.trades, deploy.Trade{Seq: int64(i + 1), Record: tr})
	}
	refStart := t0.AddDate(0, 0, -DefaultReferenceDays)
	reference := func(context.Context, deploy.Deployment) (drift.Sample, error) {
		rr := rand.New(rand.NewPCG(5, 6))
		return drift.Observe(regime(rr, 120, refStart, 6, 0.01, 4), refStart.UnixMilli(), t0.UnixMilli(), hourMs, 1), nil
	}
	hooks := &hookBodies{}
	srv := httptest.NewServer(hooks)
	defer srv.Close()
	log := slog.New(slog.DiscardHandler)
	hook, err := newAlertHook(srv.URL, clk, log)
	if err != nil {
		t.Fatal(err)
	}
	m := newDriftMonitor(live, reference, drift.Thresholds{}, telemetry.NewMetrics(), hook, clk, log)
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.run(ctx)
	}()
	req, end := context.WithCancel(t.Context())
	rep, _, err := m.Drift(req, live.d)
	end() // the request is answered
	if err != nil || !rep.Drifted {
		t.Fatalf("drift: %+v, %v", rep, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		hooks.mu.Lock()
		n := len(hooks.alerts)
		hooks.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d alerts at the webhook 10 s after the request, want 1", n)
		}
	}
	stop()
	<-done
}

// With the data folder a cache of a bucket (serve --data-store), the
// reference backtest of a server whose folder is empty reads the series
// another machine stored in the bucket: the same sample as on the files.
func TestBacktestReferenceThroughTheBucket(t *testing.T) {
	ctx := t.Context()
	examples := filepath.Join("..", "..", "examples", "data")
	srv := s3storetest.Start(t, "team")
	remote := market.Options{Remote: DataBucket(srv.Store(t))}
	files, err := market.Open(examples, nil)
	if err != nil {
		t.Fatal(err)
	}
	machineA, err := market.OpenWith(t.TempDir(), nil, remote)
	if err != nil {
		t.Fatal(err)
	}
	pairs := []string{"ETH/BTC", "LTC/BTC"}
	for _, pair := range pairs {
		k := market.Key{Exchange: "binance", Pair: pair, Timeframe: "5m"}
		f, err := files.Load(ctx, k, market.Range{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := machineA.Append(ctx, k, f); err != nil {
			t.Fatal(err)
		}
	}

	job := &deploymentJob{log: slog.New(slog.DiscardHandler)}
	dep := deploy.Deployment{ID: "dep_1", Created: time.Date(2018, 1, 20, 0, 0, 0, 0, time.UTC),
		Spec: deploy.Spec{Strategy: "rsi_bollinger", Mode: deploy.Paper, Venue: "sim", Account: "a", Pairs: pairs, Timeframe: "5m",
			Config: []byte(`{"stake_currency": "BTC", "dry_run_wallet": 1, "stake_amount": "unlimited", "max_open_trades": 2, "fee": 0.001, "stoploss": -0.05}`)}}
	want, err := backtestReference(job, examples, market.Options{}, "binance")(ctx, dep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backtestReference(job, t.TempDir(), market.Options{}, "binance")(ctx, dep); err == nil {
		t.Fatal("a reference on an empty folder without the bucket")
	}
	got, err := backtestReference(job, t.TempDir(), remote, "binance")(ctx, dep)
	if err != nil {
		t.Fatalf("the reference through the bucket: %v", err)
	}
	if len(got.Returns) < 20 || !reflect.DeepEqual(got, want) {
		t.Errorf("through the bucket: %d returns, %d windows; on the files: %d, %d", len(got.Returns), len(got.Frequency), len(want.Returns), len(want.Frequency))
	}
}
