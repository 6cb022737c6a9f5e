package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/jobs/downloadjob"
	"github.com/tradai/tradai/internal/runs"
)

// A download run fetches what the store lacks of its series through the
// workers' downloader and records what each series got.
func TestDownloadRun(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		fx := newFakeExchange(t)
		e, store := downloadingEnv(t, d, fx, 0)
		cfg, _ := json.Marshal(downloadjob.Request{Exchange: "binance", Pairs: []string{"ETH/BTC"}, Timeframes: []string{"5m"}, Timerange: "20240109-20240112"})
		r := e.submit(t, runs.RunSpec{Kind: runs.KindDownload, Config: cfg, Fingerprint: "f"})
		done := e.waitTerminal(t, r.ID, 30*time.Second)
		if done.Status != runs.Completed || done.Progress != 1 {
			t.Fatalf("run %s (%v): %q", done.Status, done.Progress, done.Error)
		}
		want := []klineRequest{{Symbol: "ETHBTC", Start: time.Date(2024, 1, 9, 0, 0, 0, 0, time.UTC).UnixMilli(), End: storedAt - 1}}
		if got := fx.requests(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("requests %+v, want %+v", got, want)
		}
		var m struct {
			Added  int
			Series []downloadjob.Series
		}
		if err := json.Unmarshal(done.Metrics, &m); err != nil || m.Added != 360 || len(m.Series) != 1 || m.Series[0].Series != "binance ETH/BTC 5m" {
			t.Fatalf("metrics %s: %v", done.Metrics, err)
		}
		if st := e.step(t, r.ID, downloadjob.StepDownload); !strings.Contains(st.Detail, "binance ETH/BTC 5m: 360 new candles in 1 requests") {
			t.Fatalf("download step %+v", st)
		}
		if cov, err := store.Coverage(context.Background(), ethKey); err != nil || cov.First != want[0].Start {
			t.Fatalf("stored: %+v %v", cov, err)
		}

		// A request the worker cannot do fails at once, saying why.
		bad, _ := json.Marshal(downloadjob.Request{Exchange: "kraken", Pairs: []string{"ETH/BTC"}, Timeframes: []string{"7q"}})
		r = e.submit(t, runs.RunSpec{Kind: runs.KindDownload, Config: bad, Fingerprint: "g"})
		if done := e.waitTerminal(t, r.ID, 30*time.Second); done.Status != runs.Failed || done.Attempts != 1 ||
			!strings.Contains(done.Error, "exchange: this server downloads from binance only") || !strings.Contains(done.Error, "timeframes[0]") {
			t.Fatalf("bad request: %s after %d: %q", done.Status, done.Attempts, done.Error)
		}
	})
}
