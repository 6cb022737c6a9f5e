package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/clock"
)

// In a real browser: start a paper deployment on the simulator from the
// form, see its first trade appear on its page as the replay moves on
// (the live part by its event stream, without a reload), then stop it.
// The server, its simulator and its runner tier share one fake clock,
// which the test moves candle by candle: the replay takes as long as the
// runner takes to tick, not the candles' 5 minutes.
func TestInBrowserPaperTrade(t *testing.T) {
	ctx := tab(t)
	dir := screenshots(t)
	t0 := time.Date(2018, 1, 11, 0, 0, 0, 0, time.UTC) // after sma_cross's warm-up candles
	clk := clock.NewFake(t0)
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true, Sim: true, Runner: true, Clock: clk})
	c, err := client.New(s.URL, s.Token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	step(t, ctx, "sign in",
		chromedp.Navigate(s.URL+"/signin?next=/deployments/new"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), s.Token),
		chromedp.Submit(css("#token")),
		chromedp.WaitVisible(css("#pairs")),
	)
	step(t, ctx, "deploy sma_cross on the simulator with paper money",
		chromedp.SetValue(css("#strategy"), "sma_cross"),
		chromedp.SetValue(css("#timeframe"), "5m"),
		chromedp.SetValue(css("#account"), "trader"),
		chromedp.SetValue(css("#pairs"), "ETH/BTC, LTC/BTC"),
		chromedp.SetValue(css("#config"), `{"stake_currency": "BTC", "stake_amount": "unlimited", "dry_run_wallet": 1, "max_open_trades": 2, "stoploss": -0.05}`),
		chromedp.Submit(css("#pairs")),
		chromedp.WaitVisible(css(`#deployment-live .status`)),
	)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	id := loc[strings.LastIndexByte(loc, '/')+1:]

	show := func() apitype.Deployment {
		t.Helper()
		d, err := c.Deployment(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("waited 30 s for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The runner tier takes it at its next heartbeat.
	clk.Advance(10 * time.Second)
	waitFor("the deployment to run", func() bool { return show().State == "running" })
	// Candle by candle until it has a trade (at most a day of candles).
	close := t0
	for range 288 {
		close = close.Add(5 * time.Minute)
		clk.Set(close)
		waitFor("the tick at "+close.String(), func() bool {
			d := show()
			return d.LastTick != nil && !d.LastTick.Before(close)
		})
		if sm := show().Summary; sm != nil && sm.OpenTrades+sm.ClosedTrades > 0 {
			break
		}
	}
	if sm := show().Summary; sm == nil || sm.OpenTrades+sm.ClosedTrades == 0 {
		t.Fatalf("no trade after a day of candles: %+v", sm)
	}
	// The page's event stream reads the deployment at its next tick.
	clk.Advance(2 * time.Second)
	step(t, ctx, "see the trade appear without a reload",
		chromedp.WaitVisible(css(`#deployment-live:not([hx-trigger]) .status.dep-running`)),
		chromedp.WaitVisible(css(`#deployment-live .cards:not([data-trades="0"])`)),
	)
	step(t, ctx, "see it in the trades table", chromedp.Reload(), chromedp.WaitVisible(css(`table.trades tbody tr`)))
	shot(t, ctx, dir, "deployment-trade")
	step(t, ctx, "stop it after confirming",
		chromedp.Click(css(`a.button.danger[href$="/stop"]`)),
		chromedp.WaitVisible(css(`form.card button[type="submit"]`)),
		chromedp.Click(css(`form.card button[type="submit"]`)),
		chromedp.WaitVisible(css(`p.ok`)),
	)
	clk.Advance(5 * time.Minute)
	waitFor("the deployment to stop", func() bool { return show().State == "stopped" })
	step(t, ctx, "see it stopped", chromedp.Reload(), chromedp.WaitVisible(css(`#deployment-live .status.dep-stopped`)))
}
