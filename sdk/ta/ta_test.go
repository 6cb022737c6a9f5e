package ta

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// indicator is one configured indicator for the convention tests.
type indicator struct {
	name     string
	lookback []int // warm-up of each output
	f        func(c candles) [][]float64
}

func bools(b []bool) []float64 {
	out := make([]float64, len(b))
	for i, v := range b {
		if v {
			out[i] = 1
		}
	}
	return out
}

// indicators lists every exported indicator with typical parameters.
// SuperTrend's second output is up as 0/1 (never NaN).
func indicators() []indicator {
	return []indicator{
		{"SMA", []int{9}, func(c candles) [][]float64 { return outs(SMA(c.close, 10)) }},
		{"EMA", []int{9}, func(c candles) [][]float64 { return outs(EMA(c.close, 10)) }},
		{"WMA", []int{9}, func(c candles) [][]float64 { return outs(WMA(c.close, 10)) }},
		{"DEMA", []int{18}, func(c candles) [][]float64 { return outs(DEMA(c.close, 10)) }},
		{"TEMA", []int{27}, func(c candles) [][]float64 { return outs(TEMA(c.close, 10)) }},
		{"HMA", []int{18}, func(c candles) [][]float64 { return outs(HMA(c.close, 16)) }},
		{"StdDev", []int{9}, func(c candles) [][]float64 { return outs(StdDev(c.close, 10)) }},
		{"RSI", []int{14}, func(c candles) [][]float64 { return outs(RSI(c.close, 14)) }},
		{"MACD", []int{25, 33, 33}, func(c candles) [][]float64 { return outs(MACD(c.close, 12, 26, 9)) }},
		{"BollingerBands", []int{19, 19, 19}, func(c candles) [][]float64 { return outs(BollingerBands(c.close, 20, 2)) }},
		{"TrueRange", []int{1}, func(c candles) [][]float64 { return outs(TrueRange(c.high, c.low, c.close)) }},
		{"ATR", []int{14}, func(c candles) [][]float64 { return outs(ATR(c.high, c.low, c.close, 14)) }},
		{"Stochastic", []int{15, 17}, func(c candles) [][]float64 { return outs(Stochastic(c.high, c.low, c.close, 14, 3, 3)) }},
		{"ADX", []int{27, 14, 14}, func(c candles) [][]float64 { return outs(ADX(c.high, c.low, c.close, 14)) }},
		{"CCI", []int{19}, func(c candles) [][]float64 { return outs(CCI(c.high, c.low, c.close, 20)) }},
		{"MFI", []int{14}, func(c candles) [][]float64 { return outs(MFI(c.high, c.low, c.close, c.volume, 14)) }},
		{"OBV", []int{0}, func(c candles) [][]float64 { return outs(OBV(c.close, c.volume)) }},
		{"VWAP", []int{19}, func(c candles) [][]float64 { return outs(VWAP(c.high, c.low, c.close, c.volume, 20)) }},
		{"ROC", []int{10}, func(c candles) [][]float64 { return outs(ROC(c.close, 10)) }},
		{"Momentum", []int{10}, func(c candles) [][]float64 { return outs(Momentum(c.close, 10)) }},
		{"WilliamsR", []int{13}, func(c candles) [][]float64 { return outs(WilliamsR(c.high, c.low, c.close, 14)) }},
		{"Donchian", []int{19, 19, 19}, func(c candles) [][]float64 { return outs(Donchian(c.high, c.low, 20)) }},
		{"Keltner", []int{19, 19, 19}, func(c candles) [][]float64 { return outs(Keltner(c.high, c.low, c.close, 20, 10, 2)) }},
		{"Keltner-longATR", []int{30, 4, 30}, func(c candles) [][]float64 { return outs(Keltner(c.high, c.low, c.close, 5, 30, 1)) }},
		{"SuperTrend", []int{10, 0}, func(c candles) [][]float64 {
			line, up := SuperTrend(c.high, c.low, c.close, 10, 3)
			return outs(line, bools(up))
		}},
		{"Highest", []int{9}, func(c candles) [][]float64 { return outs(Highest(c.close, 10)) }},
		{"Lowest", []int{9}, func(c candles) [][]float64 { return outs(Lowest(c.close, 10)) }},
	}
}

func TestWarmup(t *testing.T) {
	t.Parallel()
	for _, ind := range indicators() {
		t.Run(ind.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range []candles{makeCandles(10, 400, false), makeCandles(11, 400, true)} {
				got := ind.f(c)
				for k, out := range got {
					checkWarmup(t, fmt.Sprintf("%s/out%d", c.name, k), out, ind.lookback[k])
				}
			}
		})
	}
}

// TestNoLookAhead checks that every indicator computed on a prefix gives
// bit for bit the values it gives on the whole series, including prefixes
// shorter than the warm-up (all NaN, no panic).
func TestNoLookAhead(t *testing.T) {
	t.Parallel()
	const n = 300
	var lengths []int
	for l := 0; l <= 60; l++ {
		lengths = append(lengths, l)
	}
	lengths = append(lengths, 97, 150, 211, n-1, n)
	for _, ind := range indicators() {
		t.Run(ind.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range []candles{makeCandles(20, n, false), makeCandles(21, n, true)} {
				full := ind.f(c)
				for _, l := range lengths {
					part := ind.f(c.prefix(l))
					for k := range full {
						if len(part[k]) != l {
							t.Fatalf("%s len %d: output %d has len %d", c.name, l, k, len(part[k]))
						}
						for i := range part[k] {
							if !sameFloat(part[k][i], full[k][i]) {
								t.Fatalf("%s prefix %d: out%d[%d] = %v, whole series gives %v", c.name, l, k, i, part[k][i], full[k][i])
							}
						}
						if l <= ind.lookback[k] {
							for i, v := range part[k] {
								if !math.IsNaN(v) && ind.lookback[k] > 0 && !(ind.name == "SuperTrend" && k == 1) {
									t.Fatalf("%s prefix %d shorter than warm-up: out%d[%d] = %v", c.name, l, k, i, v)
								}
							}
						}
					}
				}
			}
		})
	}
}

// TestLeadingNaN checks that leading NaNs in the inputs shift the indicator
// without changing it.
func TestLeadingNaN(t *testing.T) {
	t.Parallel()
	const n, lead = 200, 7
	c := makeCandles(30, n, false)
	pad := func(x []float64) []float64 { return append(nans(lead), x...) }
	p := candles{c.name, pad(c.open), pad(c.high), pad(c.low), pad(c.close), pad(c.volume)}
	for _, ind := range indicators() {
		want, got := ind.f(c), ind.f(p)
		for k := range want {
			for i, v := range got[k] {
				w := math.NaN()
				if ind.name == "SuperTrend" && k == 1 {
					w = 0
				}
				if i >= lead {
					w = want[k][i-lead]
				}
				if !sameFloat(v, w) {
					t.Fatalf("%s out%d[%d] = %v, want %v", ind.name, k, i, v, w)
				}
			}
		}
	}
	// A NaN in only one column also delays the start.
	h := append([]float64(nil), c.high...)
	h[0] = math.NaN()
	if got := ATR(h, c.low, c.close, 3); !math.IsNaN(got[3]) || math.IsNaN(got[4]) {
		t.Errorf("ATR with high[0] NaN: got[3] = %v, got[4] = %v; want NaN and a number", got[3], got[4])
	}
	// Indicators compose.
	rsi := RSI(c.close, 14)
	sm := SMA(rsi, 5)
	checkWarmup(t, "SMA(RSI)", sm, 14+4)
	if want := SMA(rsi[14:], 5); !sameFloat(sm[100], want[100-14]) {
		t.Errorf("SMA(RSI)[100] = %v, want %v", sm[100], want[100-14])
	}
}

func TestHugePeriod(t *testing.T) {
	t.Parallel()
	c := makeCandles(31, 50, false)
	big := math.MaxInt
	for name, out := range map[string][]float64{
		"SMA": SMA(c.close, big), "TEMA": TEMA(c.close, big), "HMA": HMA(c.close, big), "RSI": RSI(c.close, big),
		"ADX":  func() []float64 { a, _, _ := ADX(c.high, c.low, c.close, big); return a }(),
		"MACD": func() []float64 { _, s, _ := MACD(c.close, big, big, big); return s }(),
		"Stochastic": func() []float64 {
			_, d := Stochastic(c.high, c.low, c.close, big, big, big)
			return d
		}(),
	} {
		checkWarmup(t, name, out, len(out))
	}
	if got := SMA(nil, 3); got == nil || len(got) != 0 {
		t.Errorf("SMA(nil) = %#v, want empty", got)
	}
}

func TestPanics(t *testing.T) {
	t.Parallel()
	x := []float64{1, 2, 3}
	y := []float64{1, 2}
	for _, tc := range []struct {
		want string
		f    func()
	}{
		{"ta.SMA: period must be >= 1, got 0", func() { SMA(x, 0) }},
		{"ta.EMA: period must be >= 1, got -1", func() { EMA(x, -1) }},
		{"ta.WMA: period", func() { WMA(x, 0) }},
		{"ta.DEMA: period", func() { DEMA(x, 0) }},
		{"ta.TEMA: period", func() { TEMA(x, 0) }},
		{"ta.HMA: period", func() { HMA(x, 0) }},
		{"ta.StdDev: period", func() { StdDev(x, 0) }},
		{"ta.RSI: period", func() { RSI(x, 0) }},
		{"ta.ROC: period", func() { ROC(x, 0) }},
		{"ta.Momentum: period", func() { Momentum(x, 0) }},
		{"ta.Highest: period", func() { Highest(x, 0) }},
		{"ta.Lowest: period", func() { Lowest(x, 0) }},
		{"ta.MACD: fast must be >= 1", func() { MACD(x, 0, 26, 9) }},
		{"ta.MACD: signal must be >= 1", func() { MACD(x, 12, 26, 0) }},
		{"ta.MACD: fast (26) must be <= slow (12)", func() { MACD(x, 26, 12, 9) }},
		{"ta.BollingerBands: k must be a finite number >= 0, got -1", func() { BollingerBands(x, 2, -1) }},
		{"ta.BollingerBands: k must be a finite number >= 0, got NaN", func() { BollingerBands(x, 2, math.NaN()) }},
		{"ta.BollingerBands: period", func() { BollingerBands(x, 0, 2) }},
		{"ta.TrueRange: len(low) = 2 does not match len(high) = 3", func() { TrueRange(x, y, x) }},
		{"ta.ATR: len(close) = 2", func() { ATR(x, x, y, 2) }},
		{"ta.ATR: period", func() { ATR(x, x, x, 0) }},
		{"ta.Stochastic: dPeriod must be >= 1", func() { Stochastic(x, x, x, 14, 3, 0) }},
		{"ta.Stochastic: slowK must be >= 1", func() { Stochastic(x, x, x, 14, 0, 3) }},
		{"ta.Stochastic: len(low)", func() { Stochastic(x, y, x, 14, 3, 3) }},
		{"ta.ADX: period", func() { ADX(x, x, x, 0) }},
		{"ta.ADX: len(close)", func() { ADX(x, x, y, 14) }},
		{"ta.CCI: period", func() { CCI(x, x, x, 0) }},
		{"ta.MFI: len(volume) = 2", func() { MFI(x, x, x, y, 2) }},
		{"ta.MFI: period", func() { MFI(x, x, x, x, 0) }},
		{"ta.OBV: len(volume) = 2 does not match len(close) = 3", func() { OBV(x, y) }},
		{"ta.VWAP: len(volume)", func() { VWAP(x, x, x, y, 2) }},
		{"ta.VWAP: period", func() { VWAP(x, x, x, x, 0) }},
		{"ta.WilliamsR: period", func() { WilliamsR(x, x, x, 0) }},
		{"ta.Donchian: len(low)", func() { Donchian(x, y, 2) }},
		{"ta.Donchian: period", func() { Donchian(x, x, 0) }},
		{"ta.Keltner: atrPeriod must be >= 1", func() { Keltner(x, x, x, 20, 0, 2) }},
		{"ta.Keltner: mult must be a finite number >= 0, got -2", func() { Keltner(x, x, x, 20, 10, -2) }},
		{"ta.SuperTrend: mult must be a finite number >= 0, got +Inf", func() { SuperTrend(x, x, x, 10, math.Inf(1)) }},
		{"ta.SuperTrend: period", func() { SuperTrend(x, x, x, 0, 3) }},
		{"ta.CrossedAbove: len(b) = 2 does not match len(a) = 3", func() { CrossedAbove(x, y, 1) }},
		{"ta.CrossedBelow: i = 3 out of range for len(a) = 3", func() { CrossedBelow(x, x, 3) }},
	} {
		func() {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q, want it to contain %q", r, tc.want)
				}
			}()
			tc.f()
		}()
	}
}

// checkExact fails unless got equals want within 1e-12 (NaN matching NaN).
func checkExact(t *testing.T, name string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", name, got, want)
		return
	}
	for i := range got {
		if math.IsNaN(got[i]) != math.IsNaN(want[i]) || (!math.IsNaN(want[i]) && !near(got[i], want[i], 1e-12)) {
			t.Errorf("%s = %v, want %v", name, got, want)
			return
		}
	}
}

func TestHandComputed(t *testing.T) {
	t.Parallel()
	N := math.NaN()
	rising := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	falling := []float64{8, 7, 6, 5, 4, 3, 2, 1}
	flat := []float64{5, 5, 5, 5, 5, 5}
	two, one := func(a, _ []float64) []float64 { return a }, func(_, b []float64) []float64 { return b }
	stK := func(h, l, c []float64, k, s, d int) []float64 { a, _ := Stochastic(h, l, c, k, s, d); return a }
	first := func(a, _, _ []float64) []float64 { return a }
	mid := func(_, b, _ []float64) []float64 { return b }
	last := func(_, _, c []float64) []float64 { return c }
	tr := struct{ h, l, c []float64 }{[]float64{10, 12, 15}, []float64{8, 9, 13}, []float64{9, 11, 14}}
	for _, tc := range []struct {
		name      string
		got, want []float64
	}{
		{"SMA(1..5, 3)", SMA([]float64{1, 2, 3, 4, 5}, 3), []float64{N, N, 2, 3, 4}},
		{"SMA(p=1)", SMA([]float64{3, -1, 2}, 1), []float64{3, -1, 2}},
		{"EMA", EMA([]float64{2, 4, 6, 8, 12}, 2), []float64{N, 3, 5, 7, 31.0 / 3}},
		{"WMA", WMA([]float64{1, 2, 3, 4, 5}, 3), []float64{N, N, 14.0 / 6, 20.0 / 6, 26.0 / 6}},
		{"DEMA of a line is the line", DEMA(rising, 2), []float64{N, N, 3, 4, 5, 6, 7, 8}},
		{"HMA(p=1)", HMA([]float64{3, 1, 2}, 1), []float64{3, 1, 2}},
		{"StdDev", StdDev([]float64{2, 4, 4, 4, 5, 5, 7, 9}, 8), []float64{N, N, N, N, N, N, N, 2}},
		{"StdDev flat", StdDev([]float64{0.1, 0.3, 0.1, 0.1, 0.1}, 3), []float64{N, N, math.Sqrt(0.08 / 9), math.Sqrt(0.08 / 9), 0}},
		{"RSI rising", RSI(rising, 3), []float64{N, N, N, 100, 100, 100, 100, 100}},
		{"RSI falling", RSI(falling, 3), []float64{N, N, N, 0, 0, 0, 0, 0}},
		{"RSI flat", RSI(flat, 2), []float64{N, N, 50, 50, 50, 50}},
		{"RSI", RSI([]float64{1, 2, 1, 2, 3}, 2), []float64{N, N, 50, 75, 87.5}},
		{"ROC", ROC([]float64{1, 2, 4, 0, 8}, 1), []float64{N, 100, 100, -100, 0}},
		{"Momentum", Momentum([]float64{1, 2, 4, 8}, 2), []float64{N, N, 3, 6}},
		{"OBV", OBV([]float64{10, 11, 11, 10, 12}, []float64{5, 3, 4, 2, 6}), []float64{5, 8, 8, 6, 12}},
		{"TrueRange", TrueRange(tr.h, tr.l, tr.c), []float64{N, 3, 4}},
		{"ATR", ATR([]float64{10, 12, 15, 15}, []float64{8, 9, 13, 14}, []float64{9, 11, 14, 14.5}, 2), []float64{N, N, 3.5, 2.25}},
		{"Highest", Highest([]float64{3, 1, 4, 1, 5, 9, 2, 6}, 3), []float64{N, N, 4, 4, 5, 9, 9, 9}},
		{"Lowest", Lowest([]float64{3, 1, 4, 1, 5, 9, 2, 6}, 3), []float64{N, N, 1, 1, 1, 1, 2, 2}},
		{"Donchian upper", first(Donchian([]float64{3, 1, 4, 1}, []float64{0, -1, 2, 0}, 2)), []float64{N, 3, 4, 4}},
		{"Donchian middle", mid(Donchian([]float64{3, 1, 4, 1}, []float64{0, -1, 2, 0}, 2)), []float64{N, 1, 1.5, 2}},
		{"Donchian lower", last(Donchian([]float64{3, 1, 4, 1}, []float64{0, -1, 2, 0}, 2)), []float64{N, -1, -1, 0}},
		{"Stochastic", stK([]float64{10, 10, 10, 10}, []float64{0, 0, 0, 0}, []float64{2.5, 5, 7.5, 10}, 3, 1, 1), []float64{N, N, 75, 100}},
		{"Stochastic slow", stK([]float64{10, 10, 10, 10}, []float64{0, 0, 0, 0}, []float64{2.5, 5, 7.5, 10}, 2, 2, 1), []float64{N, N, 62.5, 87.5}},
		{"Stochastic flat", stK(flat, flat, flat, 2, 1, 1), []float64{N, 50, 50, 50, 50, 50}},
		{"WilliamsR", WilliamsR([]float64{10, 10, 10}, []float64{0, 0, 0}, []float64{2.5, 5, 7.5}, 3), []float64{N, N, -25}},
		{"WilliamsR flat", WilliamsR(flat, flat, flat, 2), []float64{N, -50, -50, -50, -50, -50}},
		{"CCI flat", CCI([]float64{1, 0.1, 0.1, 0.1}, []float64{1, 0.1, 0.1, 0.1}, []float64{1, 0.1, 0.1, 0.1}, 3), []float64{N, N, -50, 0}},
		{"MFI without volume", MFI(rising, rising, rising, make([]float64, 8), 3), []float64{N, N, N, 50, 50, 50, 50, 50}},
		{"MFI", MFI([]float64{1, 2, 1, 3}, []float64{1, 2, 1, 3}, []float64{1, 2, 1, 3}, []float64{1, 1, 2, 1}, 2), []float64{N, N, 50, 60}},
		{"VWAP", VWAP([]float64{1, 2, 3, 3, 5}, []float64{1, 2, 3, 3, 5}, []float64{1, 2, 3, 3, 5}, []float64{1, 1, 2, 0, 0}, 2), []float64{N, 1.5, 8.0 / 3, 3, 4}},
		{"Keltner middle", mid(Keltner(tr.h, tr.l, tr.c, 1, 1, 2)), []float64{9, 11, 14}},
		{"Keltner upper", first(Keltner(tr.h, tr.l, tr.c, 1, 1, 2)), []float64{N, 17, 22}},
		{"BollingerBands lower", last(BollingerBands([]float64{1, 3, 5}, 2, 2)), []float64{N, 0, 2}},
		{"MACD of a line", two(func() ([]float64, []float64) { m, s, _ := MACD(rising, 2, 3, 2); return m, s }()), []float64{N, N, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}},
		{"MACD signal of a line", one(func() ([]float64, []float64) { m, s, _ := MACD(rising, 2, 3, 2); return m, s }()), []float64{N, N, N, 0.5, 0.5, 0.5, 0.5, 0.5}},
	} {
		checkExact(t, tc.name, tc.got, tc.want)
	}
}

func TestADXSteadyRise(t *testing.T) {
	t.Parallel()
	h, l, c := make([]float64, 12), make([]float64, 12), make([]float64, 12)
	for i := range h {
		h[i], l[i], c[i] = float64(i)+1, float64(i)-1, float64(i)
	}
	adx, pdi, mdi := ADX(h, l, c, 3)
	checkWarmup(t, "adx", adx, 5)
	checkWarmup(t, "pdi", pdi, 3)
	for i := 5; i < 12; i++ {
		if !near(adx[i], 100, 1e-12) || !near(pdi[i], 50, 1e-12) || mdi[i] != 0 {
			t.Fatalf("i=%d: adx %v, +DI %v, -DI %v; want 100, 50, 0", i, adx[i], pdi[i], mdi[i])
		}
	}
}

func TestCrossed(t *testing.T) {
	t.Parallel()
	N := math.NaN()
	a := []float64{1, 2, 3, 2, 1, N, 3}
	b := []float64{2, 2, 2, 2, 2, 2, 2}
	var above, below []int
	for i := -1; i < len(a); i++ {
		if CrossedAbove(a, b, i) {
			above = append(above, i)
		}
		if CrossedBelow(a, b, i) {
			below = append(below, i)
		}
	}
	if fmt.Sprint(above) != "[2]" || fmt.Sprint(below) != "[4]" {
		t.Errorf("crossed above at %v, below at %v; want [2] and [4]", above, below)
	}
	// Touching and leaving is a cross; NaN never is.
	if !CrossedAbove([]float64{2, 3}, []float64{2, 2}, 1) || CrossedAbove([]float64{N, 3}, []float64{2, 2}, 1) {
		t.Error("CrossedAbove from equality or NaN")
	}
}

func TestSuperTrendFlip(t *testing.T) {
	t.Parallel()
	c := []float64{10, 11, 12, 13, 14, 15, 14, 13, 12, 11, 10, 9}
	h, l := make([]float64, len(c)), make([]float64, len(c))
	for i := range c {
		h[i], l[i] = c[i]+1, c[i]-1
	}
	// True range is 2 throughout, so ATR(2) = 2 and the bands are close±2.
	line, up := SuperTrend(h, l, c, 2, 1)
	N := math.NaN()
	checkExact(t, "line", line, []float64{N, N, 14, 14, 14, 13, 13, 13, 14, 13, 12, 11})
	if got, want := fmt.Sprint(up), "[false false false false false true true true false false false false]"; got != want {
		t.Errorf("up = %s, want %s", got, want)
	}
}

// refSuperTrend transcribes TradingView's pine_supertrend over our ATR.
func refSuperTrend(h, l, c []float64, p int, m float64) ([]float64, []bool) {
	atr := ATR(h, l, c, p)
	n := len(c)
	line, up := nans(n), make([]bool, n)
	var pu, pl, pst float64
	for i := 0; i < n; i++ {
		if math.IsNaN(atr[i]) {
			continue
		}
		src := (h[i] + l[i]) / 2
		u, lo := src+m*atr[i], src-m*atr[i]
		if i > 0 && !math.IsNaN(atr[i-1]) {
			if !(lo > pl || c[i-1] < pl) {
				lo = pl
			}
			if !(u < pu || c[i-1] > pu) {
				u = pu
			}
		}
		dirUp := false
		switch {
		case i == 0 || math.IsNaN(atr[i-1]):
		case pst == pu:
			dirUp = c[i] > u
		default:
			dirUp = !(c[i] < lo)
		}
		st := u
		if dirUp {
			st = lo
		}
		line[i], up[i] = st, dirUp
		pu, pl, pst = u, lo, st
	}
	return line, up
}

func TestSuperTrendReference(t *testing.T) {
	t.Parallel()
	for _, c := range []candles{makeCandles(40, 2000, false), makeCandles(41, 2000, true)} {
		for _, cfg := range []struct {
			p int
			m float64
		}{{10, 3}, {7, 2}, {1, 1}} {
			line, up := SuperTrend(c.high, c.low, c.close, cfg.p, cfg.m)
			wl, wu := refSuperTrend(c.high, c.low, c.close, cfg.p, cfg.m)
			checkWarmup(t, "line", line, cfg.p)
			checkNear(t, fmt.Sprintf("%s/%v line", c.name, cfg), line, wl, cfg.p, 1e-12)
			flips := 0
			for i := range up {
				if up[i] != wu[i] {
					t.Fatalf("%s/%v: up[%d] = %v, want %v", c.name, cfg, i, up[i], wu[i])
				}
				if i > 0 && up[i] != up[i-1] {
					flips++
				}
			}
			if flips < 10 {
				t.Errorf("%s/%v: only %d flips; the data set does not exercise SuperTrend", c.name, cfg, flips)
			}
		}
	}
}

// refVWAP is the rolling VWAP by direct sums.
func refVWAP(h, l, c, v []float64, p int) []float64 {
	out := nans(len(c))
	for i := p - 1; i < len(c); i++ {
		var pv, vol ksum
		for j := i - p + 1; j <= i; j++ {
			tp := (h[j] + l[j] + c[j]) / 3
			pv.add(tp * v[j])
			vol.add(v[j])
		}
		out[i] = pv.sum() / vol.sum()
	}
	return out
}

func TestVWAPReference(t *testing.T) {
	t.Parallel()
	for _, c := range []candles{makeCandles(50, 2000, false), makeCandles(51, 2000, true)} {
		for _, p := range []int{1, 2, 20, 100} {
			got := VWAP(c.high, c.low, c.close, c.volume, p)
			checkWarmup(t, "VWAP", got, p-1)
			checkNear(t, fmt.Sprintf("%s/VWAP/%d", c.name, p), got, refVWAP(c.high, c.low, c.close, c.volume, p), p-1, 1e-12)
		}
	}
}
