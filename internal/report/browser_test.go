package report

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tradai/tradai/internal/browsertest"
)

// reportTab is a headless chromium tab for the report's browser checks,
// started (see browsertest.Tab).
func reportTab(tb testing.TB) context.Context {
	tb.Helper()
	ctx := browsertest.Tab(tb)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// writeReportFile writes the HTML report of the compounding 19,484-trade
// fixture into a temporary folder and returns its file URL and the trade
// list's rows.
func writeReportFile(tb testing.TB) (string, [][]string) {
	tb.Helper()
	res, m := compoundingFixture()
	file := filepath.Join(tb.TempDir(), "report.html")
	f, err := os.Create(file)
	if err != nil {
		tb.Fatal(err)
	}
	if err := NewFiles(res, known(m), nil).WriteHTML(f); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return "file://" + file, tradeTableOf(res, res.StakeCurrency).Rows
}

// shownRows is the script that reads the trade list's rows as the page
// shows them: each cell's text.
const shownRows = `Array.from(document.querySelectorAll("#trades tbody tr"), function (tr) {
  return Array.from(tr.cells, function (td) { return td.textContent; });
})`

// The page opened from the file alone unpacks its trade list and shows
// the same rows as the trade list's texts, a page at a time, the last
// page too.
func TestReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a million-candle fixture and starts chromium")
	}
	ctx := reportTab(t)
	url, rows := writeReportFile(t)
	texts := func(from, to int) [][]string {
		var out [][]string
		for _, r := range rows[from:to] {
			var row []string
			for c := 0; c < len(r)-1; c += 2 {
				row = append(row, r[c])
			}
			out = append(out, row)
		}
		return out
	}
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// The rows, or the note that the page could not unpack them.
	if err := chromedp.Do(c, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#trades tbody tr, #trades .chart-empty"))); err != nil {
		t.Fatalf("open the report: %v", err)
	}
	got, err := chromedp.Run(c, chromedp.Evaluate[[][]string](shownRows))
	if err != nil {
		t.Fatal(err)
	}
	if want := texts(0, 100); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("first page: %d rows %.200q; want %d, first %q", len(got), got, len(want), want[0])
	}
	if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#trades .pager .last"))); err != nil {
		t.Fatal(err)
	}
	got, err = chromedp.Run(c, chromedp.Evaluate[[][]string](shownRows))
	if err != nil {
		t.Fatal(err)
	}
	if want := texts(len(rows)/100*100, len(rows)); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("last page: %d rows, last %q; want %d, last %q", len(got), got[len(got)-1], len(want), want[len(want)-1])
	}
}

// BenchmarkOpenReport19k opens the HTML report of a 19,484-trade backtest
// from its file in headless chromium until the trade list's first page is
// drawn (issue 20: at most 1 s).
func BenchmarkOpenReport19k(b *testing.B) {
	ctx := reportTab(b)
	url, _ := writeReportFile(b)
	b.ResetTimer()
	for range b.N {
		if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#trades tbody tr"))); err != nil {
			b.Fatal(err)
		}
	}
}
