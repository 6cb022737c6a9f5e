package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/browsertest"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
)

// screenshots is where the browser tests write a PNG of each page:
// $TRADAI_SCREENSHOTS, else testdata/screenshots (ignored by git).
func screenshots(t *testing.T) string {
	dir := os.Getenv("TRADAI_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab is a headless chromium tab, 1280 px wide.
func tab(t *testing.T) context.Context {
	t.Helper()
	ctx := browsertest.Tab(t)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step runs actions with a deadline and fails the test naming what.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// shot writes a screenshot of the whole page (of the window only for a
// page too long to look at whole).
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	take := chromedp.FullScreenshot(100)
	if name == "docs" {
		take = chromedp.CaptureScreenshot()
	}
	png, err := chromedp.Run(c, take)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// frameLoaded reports whether the frame element frame holds a document
// loaded from path.
func frameLoaded(frame *chromedp.Node, path string) bool {
	frame.RLock()
	doc := frame.ContentDocument
	frame.RUnlock()
	if doc == nil {
		return false
	}
	doc.RLock()
	defer doc.RUnlock()
	return strings.Contains(doc.DocumentURL, path)
}

// frameText is the text of sel in the document of the frame frameSel,
// which loads path: from the frame's own target when Chrome runs it in
// another process (a sandboxed frame), else from the page's DOM.
func frameText(t *testing.T, ctx context.Context, frameSel, path, sel string) string {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// try reads the text with read, given a few seconds (a frame still
	// loading may not answer), and fails the test once the 30 s are spent.
	try := func(read func(context.Context) (string, error)) (string, bool) {
		rc, cancel := context.WithTimeout(c, 5*time.Second)
		defer cancel()
		text, err := read(rc)
		if err != nil && c.Err() != nil {
			t.Fatalf("%s in the frame: %v", sel, err)
		}
		return text, err == nil
	}
	for {
		infos, err := chromedp.Targets(c)
		if err != nil {
			t.Fatalf("list targets: %v", err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.Contains(info.URL, path) {
				text, ok := try(func(rc context.Context) (string, error) {
					fctx, cancel := chromedp.NewContext(rc, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
					defer cancel()
					return chromedp.Run(fctx, chromedp.Text(chromedp.CSS(sel)))
				})
				if ok {
					return text
				}
			}
		}
		nodes, err := chromedp.Run(c, chromedp.Nodes(chromedp.CSS(frameSel)))
		if err != nil {
			t.Fatalf("%s: %v", frameSel, err)
		}
		// Until the frame has loaded path, its document is the empty
		// one it starts with (a lazy frame loads when scrolled near).
		// A query begun in it can wait on that document to the end:
		// the frame's next document may come with a new frame node, or
		// in a process of its own (the target above).
		if len(nodes) > 0 && frameLoaded(nodes[0], path) {
			text, ok := try(func(rc context.Context) (string, error) {
				return chromedp.Run(rc, chromedp.Text(chromedp.CSS(sel), chromedp.FromNode(nodes[0])))
			})
			if ok {
				return text
			}
		}
		if _, err := chromedp.Run(c, chromedp.Sleep(100*time.Millisecond)); err != nil {
			t.Fatalf("waiting for the frame %s: %v", frameSel, err)
		}
	}
}

// shotWindow writes a screenshot of the window as it is.
func shotWindow(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// In a real browser: sign in, submit a backtest and watch it finish, open
// its charts, see a running run's status change live, compare two runs, promote a version, see a gap on the data
// page, read the API reference; a screenshot of each page.
func TestInBrowser(t *testing.T) {
	ctx := tab(t)
	dir := screenshots(t)
	s := clienttest.Start(t, clienttest.Options{AllowExternal: true, DataDir: gappedData(t), Sim: true, DownloadURL: clienttest.FakeKlines(t), Operator: true})
	pushStrategy(t, s, s.Token, "pysma", "", "\n# two\n")
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	checkAccessible(t, ctx, s.URL, dir, []a11yPage{{"signin", "/signin"}})

	step(t, ctx, "sign in",
		chromedp.Navigate(s.URL+"/runs"),
		chromedp.WaitVisible(css("#token")),
	)
	shot(t, ctx, dir, "signin")
	step(t, ctx, "sign in",
		chromedp.SendKeys(css("#token"), s.Token),
		chromedp.Submit(css("#token")),
		chromedp.WaitVisible(css("table.runs")),
	)

	submit := func(rsi string) string {
		step(t, ctx, "fill in the backtest form",
			chromedp.Navigate(s.URL+"/backtests/new?strategy=rsi_bollinger"),
			chromedp.WaitVisible(css("#pairs")),
			chromedp.SetValue(css("#pairs"), "ETH/BTC LTC/BTC"),
			chromedp.SetValue(css("#timerange"), "20180111-20180113"), // inside the sample data: nothing to download
			chromedp.SetValue(css("#stake_currency"), "BTC"),
			chromedp.SetValue(css("#dry_run_wallet"), "1"),
			chromedp.SetValue(css(`[id="param.rsi_period"]`), rsi),
			chromedp.SetValue(css("#tags"), "from=browser"),
		)
		if rsi == "14" {
			shot(t, ctx, dir, "backtest-form")
		}
		step(t, ctx, "submit the backtest", chromedp.Submit(css("#pairs")), chromedp.WaitVisible(css("dl.facts")))
		// The status refreshes itself (htmx) and the page reloads with the
		// results once the run is done.
		step(t, ctx, "see the run finish and its charts drawn",
			chromedp.WaitVisible(css(`.cards`)),
			chromedp.WaitVisible(css(`[data-chart="equity"][data-ready="true"] canvas`)),
			chromedp.WaitVisible(css(`[data-chart="candles"][data-ready="true"] canvas`)),
		)
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc[strings.LastIndex(loc, "/")+1:]
	}
	first := submit("14")
	if status := eval[string](t, ctx, `document.querySelector(".facts .status").textContent.trim()`); status != "completed" {
		t.Fatalf("status %q", status)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("table.trades tbody tr").length`); n == 0 {
		t.Error("no trades listed")
	}
	shot(t, ctx, dir, "run")
	// Another pair's candles without reloading the page.
	step(t, ctx, "show another pair",
		chromedp.SetValue(css("#pair"), "LTC/BTC"),
		chromedp.Submit(css("#pair")),
		chromedp.WaitVisible(css(`[data-chart="candles"][data-ready="true"][aria-label^="Candles of LTC/BTC"]`)),
	)
	second := submit("20")

	// A run that stays running until cancelled: the list shows it live,
	// and its status changes without the page reloading.
	c, err := client.New(s.URL, s.Token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := c.Submit(context.Background(), apitype.SubmitRequest{Strategy: clienttest.SlowStrategy(t), Config: clienttest.Config(t), Timerange: "20180110-20180111", Pairs: []string{"ETH/BTC"}})
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "see a run in progress",
		chromedp.Navigate(s.URL+"/runs"),
		chromedp.WaitVisible(css(`#status-`+slow.RunID+`.running[hx-trigger]`)),
	)
	eval[bool](t, ctx, `window.tradaiSamePage = true`)
	shot(t, ctx, dir, "runs")
	if _, err := c.Cancel(context.Background(), slow.RunID); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "see it cancelled without reloading", chromedp.WaitVisible(css(`#status-`+slow.RunID+`.cancelled[data-final]`)))
	if !eval[bool](t, ctx, `window.tradaiSamePage === true`) {
		t.Error("the page reloaded to show the new status")
	}

	step(t, ctx, "compare two runs",
		chromedp.Navigate(s.URL+"/runs"),
		chromedp.WaitVisible(css("table.runs")),
	)
	step(t, ctx, "tick two runs and compare",
		chromedp.Click(css(`input[value="`+first+`"]`)),
		chromedp.Click(css(`input[value="`+second+`"]`)),
		chromedp.Submit(css(`input[value="`+first+`"]`)),
		chromedp.WaitVisible(css(`[data-chart="compare"][data-ready="true"] canvas`)),
	)
	if n := eval[int](t, ctx, `document.querySelectorAll("table.compare tr.differs").length`); n == 0 {
		t.Error("the comparison marks no difference between rsi_period 14 and 20")
	}
	shot(t, ctx, dir, "compare")

	step(t, ctx, "promote a version",
		chromedp.Navigate(s.URL+"/strategies/pysma"),
		chromedp.WaitVisible(css(`a[href="/strategies/pysma/versions/1/promote?stage=production"]`)),
	)
	shot(t, ctx, dir, "strategy")
	step(t, ctx, "confirm the promotion",
		chromedp.Click(css(`a[href="/strategies/pysma/versions/1/promote?stage=production"]`)),
		chromedp.WaitVisible(css("#reason")),
	)
	shot(t, ctx, dir, "promote-confirm")
	// The confirmation by keyboard alone.
	step(t, ctx, "give a reason", chromedp.Focus(css("#reason")), chromedp.KeyEvent("the better one"))
	pressOn(t, ctx, `form button[type="submit"]`)
	step(t, ctx, "promote", chromedp.WaitVisible(css("p.ok")))
	if got := eval[string](t, ctx, `document.querySelector("p.ok").textContent`); !strings.Contains(got, "pysma@1 is now production") {
		t.Errorf("after promoting: %q", got)
	}

	// A study: live while it runs, then its convergence and best trials.
	ticket, err := c.SubmitStudy(context.Background(), apitype.StudyRequest{Strategy: "sma_cross", Config: clienttest.Config(t), Timerange: "20180110-20180112",
		Pairs: []string{"ETH/BTC", "LTC/BTC"}, Spaces: []string{"buy", "roi", "stoploss"}, Epochs: 30, Sampler: "tpe", Seed: 3, Batch: 5})
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "see a study finish and its convergence drawn",
		chromedp.Navigate(s.URL+"/studies/"+ticket.StudyID),
		chromedp.WaitVisible(css(`.facts .status.completed[data-final]`)),
		chromedp.WaitVisible(css(`[data-chart="convergence"][data-ready="true"] canvas`)),
		chromedp.WaitVisible(css(`table.trials tbody tr`)),
	)
	if n := eval[string](t, ctx, `document.querySelector('[data-chart="convergence"]').dataset.points`); n == "" || n == "0" {
		t.Errorf("the convergence chart has %q points", n)
	}
	// Its overfitting figures: the report's part, in a frame.
	step(t, ctx, "scroll to the overfitting figures", chromedp.ScrollIntoView(css("iframe.report")))
	if v := frameText(t, ctx, "iframe.report", "/studies/"+ticket.StudyID+"/report", "#overfitting .verdict"); v == "" {
		t.Error("the study's page shows no overfitting verdict")
	}
	shot(t, ctx, dir, "study")

	// A paper deployment on the simulator, from the form, then stopped.
	step(t, ctx, "fill in the deployment form",
		chromedp.Navigate(s.URL+"/deployments/new"),
		chromedp.WaitVisible(css("#pairs")),
		chromedp.SetValue(css("#strategy"), "sma_cross"),
		chromedp.SetValue(css("#timeframe"), "5m"),
		chromedp.SetValue(css("#account"), "browser"),
		chromedp.SetValue(css("#pairs"), "ETH/BTC, LTC/BTC"),
		chromedp.SetValue(css("#config"), `{"stake_currency": "BTC", "dry_run_wallet": 1}`),
	)
	shot(t, ctx, dir, "deployment-form")
	step(t, ctx, "deploy",
		chromedp.Submit(css("#pairs")),
		// The live part follows its event stream: the stream's version
		// has no polling.
		chromedp.WaitVisible(css(`#deployment-live:not([hx-trigger]) .status.dep-starting`)),
		chromedp.WaitVisible(css(`[data-chart="equity"][data-ready="true"]`)),
	)
	shot(t, ctx, dir, "deployment")
	depURL, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	depPath := strings.TrimPrefix(depURL, s.URL)
	// Stopped by keyboard alone: Tab to Stop, Enter, Tab to the
	// confirmation's button, Enter.
	pressOn(t, ctx, `a.button.danger[href$="/stop"]`)
	step(t, ctx, "see the confirmation", chromedp.WaitVisible(css(`form.card button[type="submit"]`)))
	pressOn(t, ctx, `form.card button[type="submit"]`)
	step(t, ctx, "see it stopped",
		chromedp.WaitVisible(css(`p.ok`)),
		chromedp.WaitVisible(css(`#deployment-live .status.dep-stopped`)),
	)
	step(t, ctx, "see it listed", chromedp.Navigate(s.URL+"/deployments"), chromedp.WaitVisible(css(`#deployment-rows .status.dep-stopped`)))
	shot(t, ctx, dir, "deployments")

	// A download from the form, its progress followed to the end.
	step(t, ctx, "download market data from the form",
		chromedp.Navigate(s.URL+"/data/downloads/new"),
		chromedp.WaitVisible(css("#pairs")),
		chromedp.SetValue(css("#pairs"), "BTC/USDT"),
		chromedp.SetValue(css("#timeframes"), "1h"),
		chromedp.SetValue(css("#timerange"), "20240101-20240103"),
		chromedp.Submit(css("#pairs")),
		chromedp.WaitVisible(css(`#download-live .status.completed[data-final]`)),
	)
	if v := eval[float64](t, ctx, `document.getElementById("download-progress").value`); v != 1 {
		t.Errorf("the finished download's progress bar is at %v", v)
	}
	shot(t, ctx, dir, "download")
	dlURL, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "see the queue on the operations page", chromedp.Navigate(s.URL+"/operations"), chromedp.WaitVisible(css("table.queue tbody tr")))
	shot(t, ctx, dir, "operations")
	step(t, ctx, "see a gap on the data page", chromedp.Navigate(s.URL+"/data"), chromedp.WaitVisible(css("svg.timeline rect.gap")))
	shot(t, ctx, dir, "data")
	step(t, ctx, "read the API reference", chromedp.Navigate(s.URL+"/docs"), chromedp.WaitVisible(css("#op-submit-backtest")))
	shot(t, ctx, dir, "docs")

	// Every page at 1280 and 720 px (a phone's width), with a screenshot
	// of each: no sideways scroll, labels, names, every control reached
	// by keyboard with a focus ring.
	checkAccessible(t, ctx, s.URL, dir, []a11yPage{
		{"runs", "/runs"}, {"run", "/runs/" + first}, {"compare", "/compare?id=" + first + "&id=" + second}, {"backtest-form", "/backtests/new?strategy=rsi_bollinger"},
		{"strategies", "/strategies"}, {"strategy", "/strategies/pysma"}, {"diff", "/strategies/pysma/diff?from=1&to=2"},
		{"promote-confirm", "/strategies/pysma/versions/2/promote?stage=staging"}, {"rollback-confirm", "/strategies/pysma/rollback"},
		{"studies", "/studies"}, {"study", "/studies/" + ticket.StudyID}, {"study-confirm", "/studies/" + ticket.StudyID + "/resume"},
		{"deployments", "/deployments"}, {"deployment", depPath}, {"deployment-form", "/deployments/new"}, {"deployment-confirm", depPath + "/stop"},
		{"kill-switch", "/deployments/stop-all"}, {"data", "/data"}, {"download-form", "/data/downloads/new"}, {"download", strings.TrimPrefix(dlURL, s.URL)},
		{"operations", "/operations"}, {"docs", "/docs"}, {"not-found", "/nothing-here"},
	})

}
