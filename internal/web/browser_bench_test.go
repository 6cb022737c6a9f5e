package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tradai/tradai/internal/browsertest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/report"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/internal/web"
	"github.com/tradai/tradai/sdk"
)

// BenchmarkRunPageInBrowser measures, in headless chromium, opening the
// page of a run with 5,000 trades over 100,000 one-minute candles until
// both its charts are drawn (the trade table's first page, the equity and
// drawdown chart, and the pair's candles with 10,000 markers and the stop
// lines): the time the user waits for a usable page. Target: 1 s. Each
// iteration opens the page loadsPerOp times in the same browser; the
// figure is the median of all the loads (ms-to-charts), beside the
// fastest and slowest, so that one slow load on a busy machine does not
// move it.
func BenchmarkRunPageInBrowser(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	dataDir := b.TempDir()
	const candles, trades = 100_000, 5_000
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	f := &sdk.Frame{}
	for i := range candles {
		p := 100 + 10*float64(i%977)/977
		f.Time = append(f.Time, start+int64(i)*60_000)
		f.Open, f.High, f.Low, f.Close, f.Volume = append(f.Open, p), append(f.High, p+0.5), append(f.Low, p-0.5), append(f.Close, p+0.1), append(f.Volume, 1)
	}
	st, err := market.Open(dataDir, log)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.Append(ctx, market.Key{Exchange: "binance", Pair: "BTC/USDT", Timeframe: "1m", Type: market.Spot}, f); err != nil {
		b.Fatal(err)
	}
	res := &result.Result{Strategy: "bench", Timeframe: "1m", Pairs: []string{"BTC/USDT"}, Exchange: "binance", StakeCurrency: "USDT", TradingMode: "spot",
		StartingBalance: 1000, MaxOpenTrades: 1, Start: start, End: f.Time[candles-1], Candles: candles, FinalBalance: 1000}
	bal := 1000.0
	for i := range trades {
		open := start + int64(i*20)*60_000
		ratio := 0.002 * float64(i%7-3)
		t := trade.Trade{Pair: "BTC/USDT", Leverage: 1, OpenTime: open, OpenRate: 100, Amount: 1, Stake: 100, CloseTime: open + 10*60_000, CloseRate: 100 * (1 + ratio),
			ProfitRatio: ratio, ProfitAbs: 100 * ratio, ExitReason: trade.ExitSignal, StopLoss: 95, InitialStopLoss: 95, MaxRate: 101, MinRate: 99}
		res.Trades = append(res.Trades, t)
		bal += t.ProfitAbs
	}
	res.FinalBalance = bal
	for d := int64(0); d*86_400_000 < int64(candles)*60_000; d++ {
		res.Equity = append(res.Equity, result.EquityPoint{Time: start + d*86_400_000, Equity: 1000 + float64(d)})
	}
	var doc bytes.Buffer
	if err := report.NewFiles(res, func() metrics.Report { return metrics.Compute(res) }, nil).WriteJSON(&doc); err != nil {
		b.Fatal(err)
	}

	d, err := db.Open(ctx, filepath.Join(b.TempDir(), "tradai.db"), log)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	ten := tenancy.New(d, nil, log)
	u, err := ten.CreateUser(ctx, "alice", "acme")
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := ten.CreateToken(ctx, u.ID)
	if err != nil {
		b.Fatal(err)
	}
	p := tenancy.Principal{Tenant: u.Tenant, User: u.ID}
	store := runs.New(d, nil, 3, log)
	r, _, err := store.Create(ctx, p, runs.RunSpec{Kind: runs.KindBacktest, Strategy: "bench", Params: []byte(`{}`), Config: []byte(`{}`), Fingerprint: "fp"}, "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := store.MarkRunning(ctx, p, r.ID, "run"); err != nil {
		b.Fatal(err)
	}
	if _, err := store.Complete(ctx, p, r.ID, runs.Outcome{Metrics: []byte(`{"total_trades":5000}`),
		Artifacts: []runs.Artifact{{Name: "result.json", MediaType: "application/json", Content: doc.Bytes()}}}); err != nil {
		b.Fatal(err)
	}
	s, err := web.New(web.Deps{Auth: ten, Runs: store, Submit: noSubmit{}, Limits: noLimits{}, DataDir: dataDir, Log: log, Version: "bench"}, web.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	if testing.Verbose() {
		for _, path := range []string{"/runs/" + r.ID, "/runs/" + r.ID + "/chart", "/runs/" + r.ID + "/candles?pair=BTC/USDT"} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			req.AddCookie(&http.Cookie{Name: "tradai_session", Value: token})
			began := time.Now()
			res, err := srv.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			b.Logf("GET %s: %v, %d KB", path, time.Since(began), n>>10)
		}
	}
	tabCtx := browsertest.Tab(b)
	if err := chromedp.Do(tabCtx, chromedp.Navigate(srv.URL+"/signin"), chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("table.runs"))); err != nil {
		b.Fatal(err)
	}
	open := func() time.Duration {
		c, cancel := context.WithTimeout(tabCtx, time.Minute)
		defer cancel()
		began := time.Now()
		if err := chromedp.Do(c, chromedp.Navigate(srv.URL+"/runs/"+r.ID),
			chromedp.WaitVisible(chromedp.CSS(`[data-chart="equity"][data-ready="true"] canvas`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-chart="candles"][data-ready="true"] canvas`)),
		); err != nil {
			b.Fatal(err)
		}
		return time.Since(began)
	}
	open() // the browser's caches warm
	const loadsPerOp = 7
	var took []time.Duration
	b.ResetTimer()
	for range b.N {
		for range loadsPerOp {
			took = append(took, open())
		}
	}
	b.StopTimer()
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(took[len(took)/2]), "ms-to-charts")
	b.ReportMetric(ms(took[0]), "ms-fastest")
	b.ReportMetric(ms(took[len(took)-1]), "ms-slowest")
	if got, err := chromedp.Run(tabCtx, chromedp.Evaluate[string](`document.querySelector("[data-chart=candles]").getAttribute("aria-label")`)); err != nil || got != fmt.Sprintf("Candles of BTC/USDT with %d trades", trades) {
		b.Errorf("candles chart: %q, %v", got, err)
	}
}
