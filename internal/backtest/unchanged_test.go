package backtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// signalled returns synthetic candles with random signals: entries about
// every every candles, exits as often, shorts likewise, a few tags. The
// candles start start candles after the first one's time and skip a stretch
// when gap: pairs of one run then differ in their candle times.
func signalled(pair string, n, every int, seed uint64, start int, gap bool) *sdk.Frame {
	f := synthetic(pair, n, seed)
	for i := range f.Time {
		f.Time[i] += int64(start) * 60_000
		if gap && i >= n/3 {
			f.Time[i] += 3 * 86_400_000 // three days without candles
		}
	}
	f.EnsureSignals()
	r := rand.New(rand.NewPCG(seed, 11))
	for i := range n {
		f.EnterLong[i] = r.IntN(every) == 0
		f.ExitLong[i] = r.IntN(every) == 0
		f.EnterShort[i] = r.IntN(every) == 0
		f.ExitShort[i] = r.IntN(every) == 0
		if f.EnterLong[i] && r.IntN(4) == 0 {
			f.SetEnterTag(i, fmt.Sprintf("t%d", r.IntN(3)))
		}
	}
	return f
}

// The simulation's results do not change with how the engine steps through
// the candles: these runs (one pair and many, gaps, longs and shorts,
// stops, ROI, trailing stops, liquidations, both fill models, fixed and
// unlimited stakes, sparse and dense signals) give the result.json bytes
// the engine gave before it skipped the candles on which nothing can
// happen (SHA-256 of each).
func TestSimulateResultsUnchanged(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"one pair sparse":               "e53cc79e393d6b11c8b5e3948e12611c2e433564a847b7f0425fa2ebd8563ef6", // 83 trades
		"one pair dense":                "75c7f0246ef0e3c675fac6e648fc6ab73577f37784b8832aa93914a9de88c395", // 2,398 trades
		"one pair gap":                  "83919e66dfd35405e6b496229420aa7dd63e3dd535ff76650c0ac9cd810aad79", // 283 trades
		"trailing":                      "021a4374bdd94e59b2beceab8551a011cae919a9cc132a37534b0b46201019fd", // 348 trades
		"futures shorts":                "788396769596d7950df65ddd078214f15ede7c1663d64000ef260d3e7fcf98b8", // 1,160 trades
		"fixed stake, four pairs":       "4bab588a121f603a45017fd2b344a87220b0ace5f3e750ca5f59b88671c9a8cc", // 434 trades
		"three slots, five pairs":       "43fdc4e2cc5df0b82b69a7948f87cc1c8f9c5595dc761be9c1fd80d76db9ddfe", // 105 trades
		"three slots, five pairs dense": "00f1f791da6530a72252cbca6ac1b533890bb2f995b749f99812c842435d627d", // 2,728 trades
		"two slots, eight pairs apart":  "5322b5848095a71bf92f19d534962d9a708e81b2079ff941d1899f95d27f0af0", // 447 trades
	}
	base := benchSettings(1)
	base.ScanAhead = true // the same results either way (TestAheadSameResults)
	trailing := base
	trailing.Rules.Risk.TrailingStop = true
	trailing.Rules.Risk.TrailingStopPositive = 0.01
	trailing.Rules.Risk.TrailingStopPositiveOffset = 0.02
	trailing.Rules.Risk.TrailingOnlyOffsetIsReached = true
	futures := base
	futures.AllowShort = true
	futures.Rules.Futures, futures.Rules.Leverage = true, 10
	futures.Rules.Slippage = 0.0005
	futures.Rules.IgnoreROIIfEntrySignal = true
	futures.Fill = trade.Freqtrade{}
	fixed := base
	fixed.StakeAmount, fixed.MaxOpenTrades = 900, -1
	fixed.Rules.ExitProfitOnly, fixed.Rules.ExitProfitOffset = true, 0.001
	fixed.Rules.Risk.MinimalROI = sdk.ROITable{{Minutes: 0, Ratio: 0.02}, {Minutes: 30, Ratio: -1}}
	multi := base
	multi.MaxOpenTrades = 3
	multi.AllowShort = true
	two := base
	two.MaxOpenTrades = 2
	cases := []struct {
		name   string
		s      Settings
		pairs  int
		every  int
		gap    bool
		frames int
		// apart is the minutes between the pairs' first candles (13
		// when 0): a day and more puts days where only pairs without a
		// trade have candles.
		apart int
	}{
		{"one pair sparse", base, 1, 200, false, 30_000, 0},
		{"one pair dense", base, 1, 5, false, 30_000, 0},
		{"one pair gap", base, 1, 50, true, 30_000, 0},
		{"trailing", trailing, 1, 40, false, 30_000, 0},
		{"futures shorts", futures, 1, 30, false, 30_000, 0},
		{"fixed stake, four pairs", fixed, 4, 60, true, 10_000, 0},
		{"three slots, five pairs", multi, 5, 300, true, 10_000, 0},
		{"three slots, five pairs dense", multi, 5, 8, false, 10_000, 0},
		{"two slots, eight pairs apart", two, 8, 40, true, 10_000, 1_700},
	}
	var prev *result.Result
	for _, c := range cases {
		var series []Series
		apart := 13
		if c.apart > 0 {
			apart = c.apart
		}
		for k := range c.pairs {
			f := signalled(fmt.Sprintf("P%d/USDT", k), c.frames-k*97, c.every, uint64(k+1), k*apart, c.gap && k%2 == 0)
			series = append(series, Series{Frame: f, From: 3 + k, To: f.Len() - k})
		}
		res, err := Simulate(context.Background(), c.s, series)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		js, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		// Simulating into the previous case's result (other lengths,
		// pairs and trades) gives the same bytes.
		reused, err := simulate(context.Background(), c.s, series, aheadFor(c.s, series), prev)
		if err != nil {
			t.Fatalf("%s reusing: %v", c.name, err)
		}
		if rjs, err := json.Marshal(reused); err != nil || !bytes.Equal(rjs, js) {
			t.Errorf("%s: the result simulated into a previous one differs (%v)", c.name, err)
		}
		prev = reused
		sum := sha256.Sum256(js)
		got := hex.EncodeToString(sum[:])
		if w, ok := want[c.name]; !ok || got != w {
			t.Errorf("%s: result.json SHA-256 %s, want %s", c.name, got, w)
		}
	}
}
