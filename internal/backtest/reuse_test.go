package backtest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"unsafe"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

// An optimiser's trials reusing one Prepared's signal columns and one
// result's lists, parameter set after parameter set (strategy and risk
// parameters, one pair and three), give the results of a fresh Prepare and
// Simulate each, and do reuse the memory.
func TestReusedTrialsEqualFreshOnes(t *testing.T) {
	t.Parallel()
	for _, pairs := range []int{1, 3} {
		mem := memLoader{}
		cfg := &config.Config{Timeframe: "1m", Exchange: config.Exchange{Name: "test"}}
		for k := range pairs {
			pair := fmt.Sprintf("P%d/USDT", k)
			mem[pair] = synthetic(pair, 20_000-k*1_000, uint64(k+1))
			cfg.Exchange.PairWhitelist = append(cfg.Exchange.PairWhitelist, pair)
		}
		st := strategy.SMACross{}
		data := loadMem(t, cfg, st, mem)
		trials := []struct {
			params  sdk.Values
			stop    float64
			maxOpen int
		}{
			{sdk.Values{"fast": 10, "slow": 30}, -0.08, 1},
			{sdk.Values{"fast": 3, "slow": 7}, -0.02, 2}, // many trades: the lists grow
			{sdk.Values{"fast": 20, "slow": 150}, -0.10, 1},
			{sdk.Values{"fast": 5, "slow": 9}, -0.01, 3},
			{sdk.Values{"fast": 10}, -0.05, 1},
		}
		var prep *Prepared
		var res *result.Result
		var err error
		seen := map[string]bool{}
		for i, tr := range trials {
			s := benchSettings(tr.maxOpen)
			s.Rules.Risk.Stoploss = tr.stop
			fresh := prepareSimulate(t, data, st, tr.params, s)
			var oldSig *bool
			if prep != nil {
				oldSig = unsafe.SliceData(prep.series[0].Frame.EnterLong)
			}
			oldRes := res
			prep, err = data.PrepareReusing(context.Background(), st, tr.params, prep)
			if err != nil {
				t.Fatal(err)
			}
			res, err = prep.SimulateReusing(context.Background(), s, res)
			if err != nil {
				t.Fatal(err)
			}
			if oldSig != nil && unsafe.SliceData(prep.series[0].Frame.EnterLong) != oldSig {
				t.Errorf("%d pairs, trial %d: new signal columns, not the previous trial's", pairs, i+1)
			}
			if oldRes != nil && res != oldRes {
				t.Errorf("%d pairs, trial %d: a new result, not the previous trial's", pairs, i+1)
			}
			got, want := resultJSON(t, res), resultJSON(t, fresh)
			if !bytes.Equal(got, want) {
				t.Errorf("%d pairs, trial %d (%v): reused result differs from a fresh one:\n%s\n%s", pairs, i+1, tr.params, got, want)
			}
			if len(res.Trades) == 0 {
				t.Errorf("%d pairs, trial %d: no trades: the trial tests little", pairs, i+1)
			}
			seen[string(got)] = true
		}
		if len(seen) != len(trials) {
			t.Errorf("%d pairs: %d distinct results of %d trials", pairs, len(seen), len(trials))
		}
		if err := data.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
