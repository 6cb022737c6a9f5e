package optimize

import (
	"math"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
)

const (
	t0   = int64(1_609_459_200_000) // 2021-01-01 00:00 UTC
	hour = int64(3_600_000)
	day  = 24 * hour
)

// lossCase: a 1000 wallet, a backtest of 4 days (five calendar days
// counting the last candle's), four trades closing on days 0 to 3:
//
//	ratio  0.02, abs  20, 120 min
//	ratio -0.01, abs -10,  60 min
//	ratio  0.03, abs  30, 360 min
//	ratio -0.02, abs -20, 120 min
func lossCase() *result.Result {
	mk := func(open, close int64, ratio, abs float64) trade.Trade {
		return trade.Trade{Pair: "BTC/USDT", OpenTime: open, CloseTime: close, ProfitRatio: ratio, ProfitAbs: abs, Stake: 1000, ExitReason: trade.ExitROI}
	}
	return &result.Result{
		StartingBalance: 1000, Start: t0, End: t0 + 4*day, Pairs: []string{"BTC/USDT"},
		Trades: []trade.Trade{
			mk(t0+hour, t0+3*hour, 0.02, 20),
			mk(t0+day+hour, t0+day+2*hour, -0.01, -10),
			mk(t0+2*day, t0+2*day+6*hour, 0.03, 30),
			mk(t0+3*day, t0+3*day+2*hour, -0.02, -20),
		},
	}
}

func TestLossFunctions(t *testing.T) {
	res := lossCase()
	m := metrics.Compute(res).Summary
	sq365 := math.Sqrt(365)
	// Cumulative profit 20, 10, 40, 20: the largest drawdown is 20 from
	// the high of 40, relative 20/1040.
	rel := 20.0 / 1040
	// Daily sums less 0.0005 slippage over five days.
	daily := []float64{0.0195, -0.0105, 0.0295, -0.0205, 0}
	dmean := 0.018 / 5
	var dss float64
	for _, v := range daily {
		dss += (v - dmean) * (v - dmean)
	}
	cases := map[string]float64{
		// trades 4, profit ratios 0.02, mean duration 165 min.
		"ShortTradeDurHyperOptLoss": (1 - 0.25*math.Exp(-596*596/math.Pow(10, 5.8))) + (1 - 0.02/3) + 0.4*165.0/300,
		"OnlyProfitHyperOptLoss":    -20,
		// expected = 0.02/4 days; population std of the trade returns
		// 0.02 -0.01 0.03 -0.02 (mean 0.005) = sqrt(0.000425).
		"SharpeHyperOptLoss": -(0.005 / math.Sqrt(0.000425) * sq365),
		// losers' returns -0.01 -0.02: population std 0.005, the same as
		// the expected return.
		"SortinoHyperOptLoss": -sq365,
		// (0.02 / 4 days × 100) / drawdown × sqrt(365)
		"CalmarHyperOptLoss":              -(0.5 / rel * sq365),
		"MaxDrawDownHyperOptLoss":         -20.0 / 20,
		"MaxDrawDownRelativeHyperOptLoss": -20.0 / 20 / rel,
		"ProfitDrawDownHyperOptLoss":      -(20 - rel*20*(1-0.055)),
		"SharpeHyperOptLossDaily":         -(dmean / math.Sqrt(dss/4) * sq365),
		// downside: days -0.0105 and -0.0205 over five days.
		"SortinoHyperOptLossDaily": -(dmean / math.Sqrt((0.0105*0.0105+0.0205*0.0205)/5) * sq365),
	}
	if len(cases) != len(losses()) {
		t.Fatalf("%d cases for %d loss functions", len(cases), len(losses()))
	}
	for _, d := range losses() {
		want := cases[d.name]
		for _, name := range []string{d.name, d.short} {
			l, err := LossNamed(name)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Of(res, &m); math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("%s: %v, want %v", name, got, want)
			}
		}
	}
}

// Without losing trades there is no drawdown: the drawdown losses fall
// back to minus the profit, the daily ones to Freqtrade's -20 ratio.
func TestLossesWithoutDrawdown(t *testing.T) {
	res := lossCase()
	res.Trades = []trade.Trade{res.Trades[0], res.Trades[2]}
	m := metrics.Compute(res).Summary
	for name, want := range map[string]float64{
		"max_drawdown": -50, "max_drawdown_relative": -50, "profit_drawdown": -50,
		// the days without a trade are 0: no losing day, the ratio is -20.
		"sortino_daily": 20,
	} {
		l, _ := LossNamed(name)
		got := l.Of(res, &m)
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

// The relative drawdown's maximum need not be at the largest absolute
// drawdown: −10 from a high of 20 (10/1020) beats −10.5 from 1000.
func TestMaxRelativeDrawdown(t *testing.T) {
	ts := []trade.Trade{
		{CloseTime: 1, ProfitAbs: 20}, {CloseTime: 2, ProfitAbs: -10},
		{CloseTime: 3, ProfitAbs: 990}, {CloseTime: 4, ProfitAbs: -10.5},
		{CloseTime: 0, ProfitAbs: -500}, // open: not counted
	}
	if got, want := maxRelativeDrawdown(ts, 1000), 10.0/1020; math.Abs(got-want) > 1e-12 {
		t.Errorf("max relative drawdown %v, want %v", got, want)
	}
}

func TestWeightedLoss(t *testing.T) {
	res := lossCase()
	m := metrics.Compute(res).Summary
	l, err := LossNamed("weights:profit_total=-1,max_drawdown_account=0.5,total_trades=0.01")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Of(res, &m), -0.02+0.5*20/1040+0.04; math.Abs(got-want) > 1e-12 {
		t.Errorf("weighted: %v, want %v", got, want)
	}
	for spec, msg := range map[string]string{
		"weights:sharp=1":     `unknown metric "sharp"`,
		"weights:sharpe":      "is not METRIC=WEIGHT",
		"weights:sharpe=abc":  `weight "abc" of sharpe`,
		"weights:best_pair=1": `unknown metric "best_pair"`,
	} {
		if _, err := LossNamed(spec); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", spec, err, msg)
		}
	}
	_, err = LossNamed("SharpeLoss")
	if err == nil || !strings.Contains(err.Error(), "--loss") || !strings.Contains(err.Error(), "SortinoHyperOptLossDaily (sortino_daily)") {
		t.Errorf("unknown loss: %v", err)
	}
}

// A --loss value is user input: parsing never panics, and a loss that
// parses evaluates.
func FuzzLossNamed(f *testing.F) {
	for _, s := range []string{"sharpe", "SortinoHyperOptLossDaily", "weights:profit_total=-1,max_drawdown_account=0.5", "weights:=", "weights:sharpe=1e400"} {
		f.Add(s)
	}
	res := lossCase()
	m := metrics.Compute(res).Summary
	f.Fuzz(func(t *testing.T, name string) {
		l, err := LossNamed(name)
		if err != nil {
			if !strings.Contains(err.Error(), "--loss") {
				t.Fatalf("error without the flag: %v", err)
			}
			return
		}
		_ = l.Of(res, &m)
	})
}
