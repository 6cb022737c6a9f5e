package metrics

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"testing"

	"pgregory.net/rapid"

	"github.com/tradai/tradai/internal/trade"
)

// drawRatio is a profit ratio from a pool that repeats values and holds
// the floats sorting and selection could tell apart: 0 and -0, NaN, ±Inf.
func drawRatio(t *rapid.T) float64 {
	return rapid.OneOf(
		rapid.SampledFrom([]float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 0.01, -0.01, 1e-300}),
		rapid.Float64Range(-1, 1),
		rapid.Float64(),
	).Draw(t, "ratio")
}

// sortedMedian is medianRatio as it was: by sorting every ratio.
func sortedMedian(ts []*trade.Trade) float64 {
	if len(ts) == 0 {
		return 0
	}
	r := make([]float64, len(ts))
	for i, t := range ts {
		r[i] = t.ProfitRatio
	}
	sort.Float64s(r)
	n := len(r)
	if n%2 == 1 {
		return r[n/2]
	}
	return (r[n/2-1] + r[n/2]) / 2
}

// The median found by selection has the bits of the one found by sorting,
// for any ratios: repeated, zeros of both signs, NaN, infinities.
func TestMedianRatioAsSorted(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rs := rapid.SliceOfN(rapid.Custom(drawRatio), 0, 400).Draw(t, "ratios")
		if rapid.Bool().Draw(t, "few values") {
			pool := rs[:min(len(rs), 3)]
			for i := range rs {
				rs[i] = pool[rapid.IntRange(0, len(pool)-1).Draw(t, "pick")]
			}
		}
		ts := make([]*trade.Trade, len(rs))
		for i, r := range rs {
			ts[i] = &trade.Trade{ProfitRatio: r}
		}
		got, want := medianRatio(ts), sortedMedian(ts)
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("median %v (%#x), sorting gives %v (%#x)", got, math.Float64bits(got), want, math.Float64bits(want))
		}
	})
}

// nthSmallest finds the value sorting puts at k and leaves none larger
// before it and none smaller after it, also on sorted, reversed and
// constant lists.
func TestNthSmallest(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := rapid.SliceOfN(rapid.Float64Range(-5, 5), 1, 300).Draw(t, "r")
		switch rapid.IntRange(0, 3).Draw(t, "shape") {
		case 1:
			slices.Sort(r)
		case 2:
			slices.Sort(r)
			slices.Reverse(r)
		case 3:
			for i := range r {
				r[i] = r[0]
			}
		}
		k := rapid.IntRange(0, len(r)-1).Draw(t, "k")
		want := slices.Sorted(slices.Values(r))[k]
		got, ok := nthSmallest(r, k)
		if !ok {
			t.Fatalf("gave up on %d values", len(r))
		}
		if got != want || r[k] != want {
			t.Fatalf("k=%d: %v (r[k] %v), want %v", k, got, r[k], want)
		}
		for i, x := range r {
			if i < k && x > want || i > k && x < want {
				t.Fatalf("r[%d] = %v on the wrong side of %v at %d", i, x, want, k)
			}
		}
	})
}

// mapGroups is groupBy as it was: a map built trade by trade.
func mapGroups(ts []*trade.Trade, key func(*trade.Trade) string) ([]string, map[string][]*trade.Trade) {
	m := map[string][]*trade.Trade{}
	for _, t := range ts {
		m[key(t)] = append(m[key(t)], t)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, m
}

// drawTrades is up to 300 trades of one to three pairs, closing at times
// that repeat, in or out of their closing order.
func drawTrades(t *rapid.T) []*trade.Trade {
	pairs := rapid.SliceOfN(rapid.SampledFrom([]string{"BTC/USDT", "ETH/USDT", "SOL/USDT"}), 1, 3).Draw(t, "pairs")
	n := rapid.IntRange(0, 300).Draw(t, "trades")
	ts := make([]*trade.Trade, n)
	for i := range ts {
		ts[i] = &trade.Trade{
			Pair:      pairs[rapid.IntRange(0, len(pairs)-1).Draw(t, "pair")],
			CloseTime: rapid.Int64Range(1, 20).Draw(t, "close") * 60_000,
			ProfitAbs: rapid.Float64Range(-50, 50).Draw(t, "profit"),
		}
	}
	return ts
}

// Grouping gives the keys and groups (their trades in order) of a map
// built trade by trade, with one key or several.
func TestGroupByAsMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ts := drawTrades(t)
		key := func(t *trade.Trade) string { return t.Pair }
		keys, m := groupBy(ts, key)
		wantKeys, want := mapGroups(ts, key)
		if !slices.Equal(keys, wantKeys) || len(m) != len(want) {
			t.Fatalf("keys %v, want %v", keys, wantKeys)
		}
		for k, g := range want {
			if !slices.Equal(m[k], g) {
				t.Fatalf("group %s differs", k)
			}
		}
	})
}

// Freqtrade's drawdown of trades already in closing order is the one of
// the same trades in any order (sorted by close time, stably, first).
func TestDrawdownOfSortedTrades(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ts := drawTrades(t)
		sorted := slices.Clone(ts)
		slices.SortStableFunc(sorted, func(a, b *trade.Trade) int { return cmp.Compare(a.CloseTime, b.CloseTime) })
		for _, clamp := range []bool{false, true} {
			if got, want := freqtradeDrawdown(sorted, 1000, clamp), freqtradeDrawdown(ts, 1000, clamp); got != want {
				t.Fatalf("clamp %v: %+v in closing order, %+v from any order", clamp, got, want)
			}
		}
	})
}
