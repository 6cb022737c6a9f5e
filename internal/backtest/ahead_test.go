package backtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// TestAheadSameResults: over generated runs of several pairs (random
// signals, ROI tables, stop-losses, trailing stops off and on, spot and
// futures, fixed and unlimited stakes, max_open_trades 1 … pairs), the
// ordered pass with the scans ahead gives the result of the ordered pass
// alone, byte for byte.
func TestAheadSameResults(t *testing.T) {
	t.Parallel()
	var taken int
	rapid.Check(t, func(t *rapid.T) {
		s := benchSettings(1)
		s.Rules.Risk.Stoploss = -float64(rapid.IntRange(1, 40).Draw(t, "stoploss/400")) / 400
		var roi sdk.ROITable
		minutes := int64(0)
		for k := range rapid.IntRange(0, 3).Draw(t, "roi steps") {
			if k > 0 {
				minutes += int64(rapid.IntRange(1, 120).Draw(t, "roi minutes"))
			}
			ratio := float64(rapid.IntRange(0, 40).Draw(t, "roi/1000")) / 1000
			if rapid.IntRange(0, 6).Draw(t, "roi -1") == 0 {
				ratio = -1
			}
			roi = append(roi, sdk.ROIStep{Minutes: minutes, Ratio: ratio})
		}
		s.Rules.Risk.MinimalROI = roi
		if rapid.IntRange(0, 3).Draw(t, "trailing") == 0 {
			s.Rules.Risk.TrailingStop = true
			s.Rules.Risk.TrailingStopPositive = 0.005
			s.Rules.Risk.TrailingStopPositiveOffset = 0.01
		}
		s.Rules.UseExitSignal = rapid.Bool().Draw(t, "use exit signal")
		s.Rules.IgnoreROIIfEntrySignal = rapid.Bool().Draw(t, "ignore roi if entry signal")
		if rapid.Bool().Draw(t, "exit profit only") {
			s.Rules.ExitProfitOnly, s.Rules.ExitProfitOffset = true, 0.001
		}
		s.Rules.Slippage = float64(rapid.IntRange(0, 5).Draw(t, "slippage/10000")) / 10_000
		if rapid.Bool().Draw(t, "freqtrade fills") {
			s.Fill = trade.Freqtrade{}
		}
		if rapid.IntRange(0, 4).Draw(t, "futures") == 0 {
			s.AllowShort = true
			s.Rules.Futures, s.Rules.Leverage = true, 5
		} else {
			s.AllowShort = rapid.Bool().Draw(t, "short")
		}
		pairs := rapid.IntRange(1, 6).Draw(t, "pairs")
		s.MaxOpenTrades = rapid.IntRange(1, pairs).Draw(t, "max_open_trades")
		if rapid.Bool().Draw(t, "fixed stake") {
			s.StakeAmount = float64(rapid.IntRange(100, 5000).Draw(t, "stake"))
			if rapid.Bool().Draw(t, "unlimited slots") {
				s.MaxOpenTrades = -1
			}
		}
		every := rapid.IntRange(2, 300).Draw(t, "entry every")
		var series []Series
		for k := range pairs {
			n := rapid.IntRange(3, 3000).Draw(t, "candles")
			f := signalled(fmt.Sprintf("P%d/USDT", k), n, every, uint64(rapid.IntRange(1, 1<<20).Draw(t, "seed")),
				rapid.IntRange(0, 50).Draw(t, "start"), rapid.Bool().Draw(t, "gap"))
			from := rapid.IntRange(0, n-2).Draw(t, "from")
			series = append(series, Series{Frame: f, From: from, To: rapid.IntRange(from+1, n).Draw(t, "to")})
		}
		want, err := simulate(context.Background(), s, series, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := simulate(context.Background(), s, series, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		if !bytes.Equal(wj, gj) {
			t.Fatalf("with the scans ahead:\n%s\nordered pass alone:\n%s", gj, wj)
		}
		taken += len(want.Trades)
	})
	if taken == 0 {
		t.Fatal("no trades: the test compares nothing")
	}
}
