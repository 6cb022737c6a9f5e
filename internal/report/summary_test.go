package report

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/metrics"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestWriteSummaryGolden(t *testing.T) {
	res, m := smallFixture()
	var buf bytes.Buffer
	if err := WriteSummary(&buf, res, m); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "summary.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("summary differs from %s (run go test -update if the change is intended):\n%s", golden, buf.String())
	}
}

func TestWriteSummaryContent(t *testing.T) {
	res, m := smallFixture()
	var buf bytes.Buffer
	if err := WriteSummary(&buf, res, m); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{"BACKTESTING REPORT", "EXIT REASON STATS", "ENTER TAG STATS", "SUMMARY METRICS",
		"Tot Profit USDT", "2 days, 3:10:00", "Sharpe (daily equity)", "Max drawdown (equity, every candle)",
		"Max drawdown (closed trades, Freqtrade)", "Expectancy (Ratio)", "TOTAL", "OTHER"} {
		if !strings.Contains(out, s) {
			t.Errorf("summary lacks %q", s)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("summary contains colour codes")
	}
	// All lines of one table have the same width.
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "┌") {
			w := len([]rune(l))
			for j := i + 1; j < len(lines) && lines[j] != "" && !strings.HasPrefix(lines[j-1], "└"); j++ {
				if got := len([]rune(lines[j])); got != w {
					t.Errorf("line %d is %d wide, table is %d: %q", j, got, w, lines[j])
				}
			}
		}
	}
}

func TestWriteSummaryNoTagsNoTrades(t *testing.T) {
	res, m := emptyFixture()
	var buf bytes.Buffer
	if err := WriteSummary(&buf, res, m); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "No trades were made.") || strings.Contains(out, "ENTER TAG STATS") {
		t.Errorf("unexpected summary:\n%s", out)
	}
	if strings.Contains(out, "NaN") || !strings.Contains(out, "unlimited") {
		t.Errorf("unexpected summary:\n%s", out)
	}
}

func TestWriteSummaryNonFinite(t *testing.T) {
	res, m := smallFixture()
	m.Summary.ProfitFactor = math.Inf(1)
	m.Summary.Sharpe = math.NaN()
	var buf bytes.Buffer
	if err := WriteSummary(&buf, res, m); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, "NaN") || !strings.Contains(out, "∞") || !strings.Contains(out, "n/a") {
		t.Errorf("non-finite values not rendered as ∞ / n/a:\n%s", out)
	}
}

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		min  float64
		want string
	}{
		{0, "0:00:00"}, {45, "0:45:00"}, {65, "1:05:00"}, {1440, "1 day, 0:00:00"},
		{1445.4, "1 day, 0:05:00"}, {2*1440 + 190, "2 days, 3:10:00"}, {math.NaN(), "n/a"},
	} {
		if got := duration(c.min); got != c.want {
			t.Errorf("duration(%v) = %q, want %q", c.min, got, c.want)
		}
	}
}

func TestNumberFormats(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{fixed(-0.0001, 2), "0.00"},
		{signed(0.5, 1), "+0.5"},
		{signed(-0.5, 1), "-0.5"},
		{signed(0, 2), "0.00"},
		{pctSigned(0.1234, 2), "+12.34%"},
		{grouped(1234567.891, 2), "1,234,567.89"},
		{grouped(-1234.6, 0), "-1,235"},
		{grouped(999, 0), "999"},
		{price(64000.123), "64000.12"},
		{price(0.00001234), "0.00001234"},
		{isoTime(1515569100000), "2018-01-10T07:25:00Z"},
		{isoTime(1515569100123), "2018-01-10T07:25:00.123Z"},
		{shortDuration(185), "3h 05m"},
		{shortDuration(3000), "2d 2h"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	_ = metrics.Report{}
}
