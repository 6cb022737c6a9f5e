package optimize

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
)

func TestParseSpan(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "12h": 12 * time.Hour, "2w": 14 * 24 * time.Hour, "45m": 45 * time.Minute} {
		if got, err := ParseSpan(in); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "90", "90s", "0d", "-3d", "+3d", "1.5d", "3 d", "99999999d", "d3"} {
		if _, err := ParseSpan(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func FuzzParseSpan(f *testing.F) {
	for _, s := range []string{"90d", "12h", "0d", "1w", "x", "18446744073709551615m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseSpan(s)
		if err == nil && (d <= 0 || d > 100*365*24*time.Hour) {
			t.Errorf("%q: %v", s, d)
		}
	})
}

func TestWindows(t *testing.T) {
	span := market.Range{Start: 1000 * day, End: 1100 * day}
	d := func(n int64) time.Duration { return time.Duration(n) * 24 * time.Hour }
	r := func(a, b int64) market.Range { return market.Range{Start: (1000 + a) * day, End: (1000 + b) * day} }
	cases := []struct {
		name              string
		train, test, step int64
		anchored          bool
		want              []Window
	}{
		{"rolling", 40, 20, 20, false, []Window{
			{0, r(0, 40), r(40, 60)}, {1, r(20, 60), r(60, 80)}, {2, r(40, 80), r(80, 100)}}},
		{"anchored", 40, 20, 20, true, []Window{
			{0, r(0, 40), r(40, 60)}, {1, r(0, 60), r(60, 80)}, {2, r(0, 80), r(80, 100)}}},
		{"step beyond test leaves gaps", 30, 10, 25, false, []Window{
			{0, r(0, 30), r(30, 40)}, {1, r(25, 55), r(55, 65)}, {2, r(50, 80), r(80, 90)}}},
		{"exactly one window", 90, 10, 10, false, []Window{{0, r(0, 90), r(90, 100)}}},
		{"the remainder is unused", 50, 30, 30, true, []Window{{0, r(0, 50), r(50, 80)}}},
	}
	for _, c := range cases {
		got, err := Windows(span, d(c.train), d(c.test), d(c.step), c.anchored)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, %v\nwant %v", c.name, got, err, c.want)
		}
		// Test ranges follow each other without overlapping.
		for i := 1; i < len(got); i++ {
			if got[i].Test.Start < got[i-1].Test.End || got[i].Train.End != got[i].Test.Start {
				t.Errorf("%s: window %d overlaps", c.name, i)
			}
		}
	}
	errs := []struct {
		train, test, step time.Duration
		want              string
	}{
		{0, d(10), d(10), "--train: 0s is not a positive length"},
		{d(10), -d(1), d(10), "--test: "},
		{d(10), d(10), 0, "--step: "},
		{d(30), d(20), d(10), "--step: 10d is shorter than --test 20d"},
		{d(90), d(20), d(20), "--train 90d and --test 20d need 110d of candles, the data has 100d"},
	}
	for _, e := range errs {
		if _, err := Windows(span, e.train, e.test, e.step, false); err == nil || !strings.Contains(err.Error(), e.want) {
			t.Errorf("%v %v %v: %v, want %q", e.train, e.test, e.step, err, e.want)
		}
	}
}

// testResult is a backtest result over [start, end) days with one trade
// per day making profit each.
func testResult(start, end int64, profit float64) *result.Result {
	r := &result.Result{Strategy: "s", Pairs: []string{"A/B"}, StartingBalance: 1000, Start: start * day, End: (end-1)*day + 1, FinalBalance: 1000}
	for d := start; d < end; d++ {
		r.Trades = append(r.Trades, trade.Trade{Pair: "A/B", OpenTime: d * day, CloseTime: d*day + day/2, ProfitAbs: profit})
		r.FinalBalance += profit
		r.Equity = append(r.Equity, result.EquityPoint{Time: (d + 1) * day, Equity: r.FinalBalance})
	}
	return r
}

func TestStitch(t *testing.T) {
	a, b, c := testResult(10, 15, 10), testResult(15, 20, -5), testResult(25, 30, 20)
	b.MaxDrawdownEquity, b.MaxDrawdownEquityAbs = 0.04, 40 // inside a candle, peak 1000 in b: 1050 stitched
	s, err := Stitch([]*result.Result{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Trades) != 15 {
		t.Fatalf("%d trades", len(s.Trades))
	}
	var sum float64
	for i, tr := range s.Trades {
		sum += tr.ProfitAbs
		if i > 0 && tr.OpenTime < s.Trades[i-1].CloseTime {
			t.Errorf("trade %d opens before the one before it closes", i)
		}
	}
	if s.FinalBalance != 1000+sum || s.FinalBalance != 1000+50-25+100 {
		t.Errorf("final balance %v, trades %v", s.FinalBalance, sum)
	}
	// b's points are raised by a's profit, c's by a's and b's.
	if s.Equity[5].Equity != 1050-5 || s.Equity[10].Equity != 1025+20 || s.Start != a.Start || s.End != c.End {
		t.Errorf("equity %v", s.Equity)
	}
	if math.Abs(s.MaxDrawdownEquity-40.0/1050) > 1e-12 || s.MaxDrawdownEquityAbs != 40 {
		t.Errorf("drawdown %v (%v)", s.MaxDrawdownEquity, s.MaxDrawdownEquityAbs)
	}
	// Without b's own drawdown, the daily curve's fall across tests.
	b.MaxDrawdownEquity, b.MaxDrawdownEquityAbs = 0, 0
	if s, _ := Stitch([]*result.Result{a, b, c}); math.Abs(s.MaxDrawdownEquity-25.0/1050) > 1e-12 || s.MaxDrawdownEquityPeak != 15*day {
		t.Errorf("daily drawdown %v from %d", s.MaxDrawdownEquity, s.MaxDrawdownEquityPeak)
	}
	if _, err := Stitch([]*result.Result{a, testResult(14, 16, 1)}); err == nil {
		t.Error("overlapping results stitched")
	}
	if _, err := Stitch(nil); err == nil {
		t.Error("nothing stitched")
	}
	// Metrics read the stitched result as a backtest's.
	if m := metrics.Compute(s); m.Summary.TotalTrades != 15 || math.Abs(m.Summary.ProfitTotalAbs-125) > 1e-9 {
		t.Errorf("metrics: %d trades, profit %v", m.Summary.TotalTrades, m.Summary.ProfitTotalAbs)
	}
}

// A walk-forward on 60 days of candles: every window's test is the
// backtest of its best parameters on the test range alone, only
// out-of-sample trades are stitched, and a seed repeats the analysis.
func TestRunWalkForward(t *testing.T) {
	run := func() *WalkForward {
		fx := setup(t, 1, 62*288, []string{"buy", "roi", "stoploss"}, 1)
		fx.opts.Epochs, fx.opts.Jobs = 12, 2
		span := fx.opts.Data.Span()
		ws, err := Windows(span, 20*24*time.Hour, 10*24*time.Hour, 10*24*time.Hour, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(ws) != 4 {
			t.Fatalf("%d windows", len(ws))
		}
		wf, err := RunWalkForward(context.Background(), WalkOptions{Study: fx.opts, Windows: ws,
			Sampler: func(i int) (sample.Sampler, error) { return sample.New("random", fx.opts.Space.Dims(), 7+uint64(i)) }})
		if err != nil {
			t.Fatal(err)
		}
		// The test of each window, backtested on its own.
		for _, w := range wf.Windows {
			d, err := fx.opts.Data.Window(w.Window.Test)
			if err != nil {
				t.Fatal(err)
			}
			prep, err := d.Prepare(context.Background(), fx.strat, w.Best.Result.Params)
			if err != nil {
				t.Fatal(err)
			}
			s := fx.opts.Settings
			s.Rules.Risk = w.Best.Point.Risk
			res, err := prep.Simulate(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Trades, w.OOS.Trades) || res.FinalBalance != w.OOS.FinalBalance {
				t.Errorf("window %d: the test differs from a backtest of its range", w.Index)
			}
			for _, tr := range w.OOS.Trades {
				if tr.OpenTime < w.Window.Test.Start || tr.CloseTime >= w.Window.Test.End {
					t.Errorf("window %d: trade %d–%d outside the test range %+v", w.Index, tr.OpenTime, tr.CloseTime, w.Window.Test)
				}
			}
			if w.Best.Result.Start < w.Train.Start || w.Best.Result.End >= w.Train.End {
				t.Errorf("window %d: training result %d–%d outside %+v", w.Index, w.Best.Result.Start, w.Best.Result.End, w.Train)
			}
		}
		return wf
	}
	a, b := run(), run()
	var n int
	for _, w := range a.Windows {
		n += len(w.OOS.Trades)
	}
	if len(a.OOS.Trades) != n || n == 0 {
		t.Errorf("stitched %d trades, the tests have %d", len(a.OOS.Trades), n)
	}
	ja, _ := json.Marshal(a.OOS)
	jb, _ := json.Marshal(b.OOS)
	if string(ja) != string(jb) {
		t.Error("the same seed gave another walk-forward")
	}
}
