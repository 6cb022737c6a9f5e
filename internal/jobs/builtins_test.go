package jobs_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/report"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/strategy"
)

// signalsData makes a data folder whose ETH/BTC and LTC/BTC series are
// CSV files carrying signal columns (those of sma_cross), so that every
// built-in strategy, the file-signal one included, can run on it.
func signalsData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "binance"), 0o755); err != nil {
		t.Fatal(err)
	}
	sma, err := strategy.Lookup("sma_cross")
	if err != nil {
		t.Fatal(err)
	}
	params, err := sma.Spec().Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range []string{"ETH/BTC", "LTC/BTC"} {
		src := filepath.Join(dataDir, "binance", datafile.FileName(pair, "5m", "feather"))
		f, err := datafile.Load(src, pair, "5m")
		if err != nil {
			t.Fatal(err)
		}
		if err := sma.Populate(f, params); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := datafile.WriteCSV(&buf, f); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "binance", datafile.FileName(pair, "5m", "csv")), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Every built-in strategy gives through the queue the very result a local
// backtest of the same config gives (the worker hands the engine the
// strategy itself, with its optional capabilities such as file signals).
func TestEveryBuiltinThroughTheQueueMatchesLocal(t *testing.T) {
	data := signalsData(t)
	raw := []byte(`{"timeframe": "5m", "timerange": "20180110-20180115",
		"exchange": {"name": "binance", "pair_whitelist": ["ETH/BTC", "LTC/BTC"]},
		"stake_currency": "BTC", "stake_amount": "unlimited", "dry_run_wallet": 1,
		"max_open_trades": 2, "fee": 0.001, "use_exit_signal": true}`)

	// The local results, as tradai backtest computes them.
	want := map[string][]byte{}
	for _, name := range strategy.Names() {
		cfg, err := config.Parse(raw, "test config")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Datadir, cfg.Strategy = data, name
		st, err := strategy.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		res, err := backtest.Run(context.Background(), cfg, st, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("local backtest of %s: %v", name, err)
		}
		if len(res.Trades) == 0 {
			t.Fatalf("local backtest of %s made no trades; the comparison would prove little", name)
		}
		var buf bytes.Buffer
		if err := report.NewFiles(res, func() metrics.Report { return metrics.Compute(res) }, nil).WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		want[name] = buf.Bytes()
	}

	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnvIn(t, d, data, fast(), true)
		ctx := context.Background()
		ids := map[string]string{}
		for _, name := range strategy.Names() {
			ids[name] = e.submit(t, runs.RunSpec{Strategy: name, Config: raw}).ID
		}
		for _, name := range strategy.Names() {
			done := e.waitTerminal(t, ids[name], 60*time.Second)
			if done.Status != runs.Completed {
				t.Errorf("%s through the queue: %s, error %q", name, done.Status, done.Error)
				continue
			}
			got, err := e.store.ArtifactContent(ctx, e.p(), done.ID, "result.json")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Content, want[name]) {
				t.Errorf("%s: result.json through the queue differs from the local backtest's", name)
			}
		}
	})
}

// A run's error names a data file relative to the data folder: the
// server's paths are not the tenant's business.
func TestRunErrorNamesDataFilesRelatively(t *testing.T) {
	data, err := filepath.Abs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(data, "binance"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "binance", "ETH_BTC-5m.feather"), []byte("ARROW1 but not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnvIn(t, d, data, fast(), true)
		for _, c := range []struct{ pair, want string }{
			{"ETH/BTC", "binance/ETH_BTC-5m.feather"}, // corrupt
			{"LTC/BTC", "LTC/BTC"},                    // missing
		} {
			raw := []byte(`{"timeframe": "5m", "timerange": "20180110-20180115", "stake_currency": "BTC",
				"exchange": {"name": "binance", "pair_whitelist": ["` + c.pair + `"]}}`)
			r := e.submit(t, runs.RunSpec{Strategy: "sma_cross", Config: raw})
			done := e.waitTerminal(t, r.ID, 30*time.Second)
			if done.Status != runs.Failed || !strings.Contains(done.Error, c.want) {
				t.Fatalf("%s: run %s, error %q; want a failure naming %s", c.pair, done.Status, done.Error, c.want)
			}
			steps, err := e.store.Steps(context.Background(), e.p(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range append([]string{done.Error}, stepErrors(steps)...) {
				if strings.Contains(s, data) {
					t.Errorf("%s: an error shows the server's data folder: %s", c.pair, s)
				}
			}
		}
	})
}

func stepErrors(steps []runs.Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Error, s.Detail)
	}
	return out
}
