package ta

import (
	"fmt"
	"math"
	"testing"

	talib "github.com/markcheno/go-talib"
)

// taTol is the relative tolerance against TA-Lib after warm-up.
const taTol = 1e-9

// taCase compares one indicator configuration with go-talib.
type taCase struct {
	name string
	// ours and ref compute the outputs from candles c; src-only indicators use
	// c.close.
	ours, ref func(c candles) [][]float64
	// lookback is our warm-up for each output.
	lookback []int
	// from is where to start comparing each output (TA-Lib's warm-up, or
	// later where go-talib needs time to converge); nil means lookback.
	from []int
	// positiveOnly skips the signed data sets; walkOnly runs only on the
	// walk around zero.
	positiveOnly, walkOnly bool
}

func outs(s ...[]float64) [][]float64 { return s }

func taCases() []taCase {
	var cs []taCase
	for _, p := range []int{1, 2, 14, 50} {
		cs = append(cs,
			taCase{name: fmt.Sprintf("SMA/%d", p), lookback: []int{p - 1},
				ours: func(c candles) [][]float64 { return outs(SMA(c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Sma(c.close, p)) }},
			taCase{name: fmt.Sprintf("EMA/%d", p), lookback: []int{p - 1},
				ours: func(c candles) [][]float64 { return outs(EMA(c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Ema(c.close, p)) }},
			taCase{name: fmt.Sprintf("WMA/%d", p), lookback: []int{p - 1},
				ours: func(c candles) [][]float64 { return outs(WMA(c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Wma(c.close, p)) }},
			taCase{name: fmt.Sprintf("DEMA/%d", p), lookback: []int{2 * (p - 1)},
				ours: func(c candles) [][]float64 { return outs(DEMA(c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Dema(c.close, p)) }},
			taCase{name: fmt.Sprintf("TEMA/%d", p), lookback: []int{3 * (p - 1)},
				ours: func(c candles) [][]float64 { return outs(TEMA(c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Tema(c.close, p)) }},
			// TA-Lib computes the variance as E[x²]-E[x]², which loses
			// about log10(mean²/variance) digits: on prices near 100 with
			// a 2-candle window that is 8 digits. Compare with TA-Lib on
			// the walk around zero and with an exact two-pass variance on
			// all sets.
			taCase{name: fmt.Sprintf("StdDev/%d", p), lookback: []int{p - 1}, walkOnly: true,
				ours: func(c candles) [][]float64 { return outs(StdDev(c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.StdDev(c.close, p, 1)) }},
			taCase{name: fmt.Sprintf("StdDev-exact/%d", p), lookback: []int{p - 1},
				ours: func(c candles) [][]float64 { return outs(StdDev(c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(refStdDev(c.close, p)) }},
			taCase{name: fmt.Sprintf("ROC/%d", p), lookback: []int{p},
				ours: func(c candles) [][]float64 { return outs(ROC(c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Roc(c.close, p)) }},
			taCase{name: fmt.Sprintf("Momentum/%d", p), lookback: []int{p},
				ours: func(c candles) [][]float64 { return outs(Momentum(c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Mom(c.close, p)) }},
			taCase{name: fmt.Sprintf("ATR/%d", p), lookback: []int{p},
				ours: func(c candles) [][]float64 { return outs(ATR(c.high, c.low, c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Atr(c.high, c.low, c.close, p)) }},
			taCase{name: fmt.Sprintf("CCI/%d", p), lookback: []int{p - 1},
				ours: func(c candles) [][]float64 { return outs(CCI(c.high, c.low, c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Cci(c.high, c.low, c.close, p)) }},
			taCase{name: fmt.Sprintf("MFI/%d", p), lookback: []int{p}, positiveOnly: true,
				ours: func(c candles) [][]float64 { return outs(MFI(c.high, c.low, c.close, c.volume, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Mfi(c.high, c.low, c.close, c.volume, p)) }},
		)
		// go-talib's MAX, MIN and WILLR-style scans need period >= 2; so do
		// RSI and, for the ×100 scale of the DIs, ADX.
		if p < 2 {
			continue
		}
		cs = append(cs,
			taCase{name: fmt.Sprintf("RSI/%d", p), lookback: []int{p},
				ours: func(c candles) [][]float64 { return outs(RSI(c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Rsi(c.close, p)) }},
			taCase{name: fmt.Sprintf("Highest/%d", p), lookback: []int{p - 1},
				ours: func(c candles) [][]float64 { return outs(Highest(c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Max(c.close, p)) }},
			taCase{name: fmt.Sprintf("Lowest/%d", p), lookback: []int{p - 1},
				ours: func(c candles) [][]float64 { return outs(Lowest(c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Min(c.close, p)) }},
			taCase{name: fmt.Sprintf("WilliamsR/%d", p), lookback: []int{p - 1},
				ours: func(c candles) [][]float64 { return outs(WilliamsR(c.high, c.low, c.close, p)) },
				ref:  func(c candles) [][]float64 { return outs(talib.WillR(c.high, c.low, c.close, p)) }},
			taCase{name: fmt.Sprintf("Donchian/%d", p), lookback: []int{p - 1, p - 1, p - 1},
				ours: func(c candles) [][]float64 { return outs(Donchian(c.high, c.low, p)) },
				ref: func(c candles) [][]float64 {
					return outs(talib.Max(c.high, p), talib.MidPrice(c.high, c.low, p), talib.Min(c.low, p))
				}},
			taCase{name: fmt.Sprintf("ADX/%d", p), lookback: []int{2*p - 1, p, p},
				ours: func(c candles) [][]float64 { return outs(ADX(c.high, c.low, c.close, p)) },
				ref: func(c candles) [][]float64 {
					return outs(talib.Adx(c.high, c.low, c.close, p), talib.PlusDI(c.high, c.low, c.close, p), talib.MinusDI(c.high, c.low, c.close, p))
				}},
		)
	}
	for _, bb := range []struct {
		p int
		k float64
	}{{20, 2}, {5, 1}, {2, 0.5}} {
		p, k := bb.p, bb.k
		// As for StdDev, TA-Lib's variance is only trusted on the walk.
		cs = append(cs,
			taCase{name: fmt.Sprintf("BollingerBands/%d/%g", p, k), lookback: []int{p - 1, p - 1, p - 1}, walkOnly: true,
				ours: func(c candles) [][]float64 { return outs(BollingerBands(c.close, p, k)) },
				ref:  func(c candles) [][]float64 { return outs(talib.BBands(c.close, p, k, k, talib.SMA)) }},
			taCase{name: fmt.Sprintf("BollingerBands-exact/%d/%g", p, k), lookback: []int{p - 1, p - 1, p - 1},
				ours: func(c candles) [][]float64 { return outs(BollingerBands(c.close, p, k)) },
				ref: func(c candles) [][]float64 {
					mid, sd := talib.Sma(c.close, p), refStdDev(c.close, p)
					up, lo := make([]float64, len(mid)), make([]float64, len(mid))
					for i := range mid {
						up[i], lo[i] = mid[i]+k*sd[i], mid[i]-k*sd[i]
					}
					return outs(up, mid, lo)
				}})
	}
	for _, m := range [][3]int{{12, 26, 9}, {5, 35, 5}, {3, 10, 16}, {1, 1, 1}, {7, 7, 2}} {
		f, s, g := m[0], m[1], m[2]
		// go-talib seeds the fast EMA at 0 instead of slow-fast and runs the
		// signal EMA over zeros before the MACD starts; both differences
		// decay geometrically, so compare it only from candle 800. The exact
		// TA-Lib algorithm is checked from the start by "MACD-exact".
		if s+g-3 >= 0 { // go-talib indexes out of range below that
			cs = append(cs, taCase{name: fmt.Sprintf("MACD/%d/%d/%d", f, s, g), lookback: []int{s - 1, s + g - 2, s + g - 2}, from: []int{800, 800, 800},
				ours: func(c candles) [][]float64 { return outs(MACD(c.close, f, s, g)) },
				ref:  func(c candles) [][]float64 { return outs(talib.Macd(c.close, f, s, g)) }})
		}
		cs = append(cs,
			taCase{name: fmt.Sprintf("MACD-exact/%d/%d/%d", f, s, g), lookback: []int{s - 1, s + g - 2, s + g - 2},
				ours: func(c candles) [][]float64 { return outs(MACD(c.close, f, s, g)) },
				ref:  func(c candles) [][]float64 { return outs(refMACD(c.close, f, s, g)) }})
	}
	for _, st := range [][3]int{{14, 3, 3}, {5, 1, 1}, {9, 3, 5}, {1, 2, 2}} {
		k, sk, d := st[0], st[1], st[2]
		lbK, lbD := k+sk-2, k+sk+d-3
		cs = append(cs,
			// TA-Lib STOCH outputs slow %K only from where %D starts.
			taCase{name: fmt.Sprintf("Stochastic/%d/%d/%d", k, sk, d), lookback: []int{lbK, lbD}, from: []int{lbD, lbD},
				ours: func(c candles) [][]float64 { return outs(Stochastic(c.high, c.low, c.close, k, sk, d)) },
				ref: func(c candles) [][]float64 {
					return outs(talib.Stoch(c.high, c.low, c.close, k, sk, talib.SMA, d, talib.SMA))
				}},
			// STOCHF's fast %D is our slow %K, from its own start.
			taCase{name: fmt.Sprintf("Stochastic-K/%d/%d", k, sk), lookback: []int{lbK},
				ours: func(c candles) [][]float64 {
					kk, _ := Stochastic(c.high, c.low, c.close, k, sk, d)
					return outs(kk)
				},
				ref: func(c candles) [][]float64 {
					_, fd := talib.StochF(c.high, c.low, c.close, k, sk, talib.SMA)
					return outs(fd)
				}})
	}
	cs = append(cs,
		taCase{name: "TrueRange", lookback: []int{1},
			ours: func(c candles) [][]float64 { return outs(TrueRange(c.high, c.low, c.close)) },
			ref:  func(c candles) [][]float64 { return outs(talib.TRange(c.high, c.low, c.close)) }},
		taCase{name: "OBV", lookback: []int{0},
			ours: func(c candles) [][]float64 { return outs(OBV(c.close, c.volume)) },
			ref:  func(c candles) [][]float64 { return outs(talib.Obv(c.close, c.volume)) }},
	)
	for _, p := range []int{1, 2, 4, 9, 16, 55} {
		sq := max(int(math.Sqrt(float64(p))), 1)
		cs = append(cs, taCase{name: fmt.Sprintf("HMA/%d", p), lookback: []int{p + sq - 2},
			ours: func(c candles) [][]float64 { return outs(HMA(c.close, p)) },
			ref:  func(c candles) [][]float64 { return outs(refHMA(c.close, p)) }})
	}
	for _, kc := range []struct {
		p, ap int
		m     float64
	}{{20, 10, 2}, {5, 14, 1.5}, {1, 1, 0}} {
		p, ap, m := kc.p, kc.ap, kc.m
		lb := max(p-1, ap)
		cs = append(cs, taCase{name: fmt.Sprintf("Keltner/%d/%d/%g", p, ap, m), lookback: []int{lb, p - 1, lb},
			ours: func(c candles) [][]float64 { return outs(Keltner(c.high, c.low, c.close, p, ap, m)) },
			ref: func(c candles) [][]float64 {
				mid, atr := talib.Ema(c.close, p), talib.Atr(c.high, c.low, c.close, ap)
				up, lo := make([]float64, len(mid)), make([]float64, len(mid))
				for i := range mid {
					up[i], lo[i] = mid[i]+m*atr[i], mid[i]-m*atr[i]
				}
				return outs(up, mid, lo)
			}})
	}
	return cs
}

// refMACD is TA-Lib's MACD algorithm built from go-talib's EMA: the fast EMA
// seeded at slow-fast, the signal EMA seeded on the MACD from slow-1.
func refMACD(x []float64, fast, slow, signal int) (m, sg, h []float64) {
	n := len(x)
	m, sg, h = make([]float64, n), make([]float64, n), make([]float64, n)
	slowE, fastE := talib.Ema(x, slow), talib.Ema(x[slow-fast:], fast)
	for i := slow - 1; i < n; i++ {
		m[i] = fastE[i-(slow-fast)] - slowE[i]
	}
	sig := talib.Ema(m[slow-1:], signal)
	for i := slow + signal - 2; i < n; i++ {
		sg[i] = sig[i-(slow-1)]
		h[i] = m[i] - sg[i]
	}
	return m, sg, h
}

// refStdDev is the population standard deviation of each window by two
// passes, with the mean and the squares summed in compensated arithmetic.
func refStdDev(x []float64, p int) []float64 {
	out := make([]float64, len(x))
	for i := p - 1; i < len(x); i++ {
		var s ksum
		for _, v := range x[i-p+1 : i+1] {
			s.add(v)
		}
		mean := s.sum() / float64(p)
		var q ksum
		for _, v := range x[i-p+1 : i+1] {
			q.add((v - mean) * (v - mean))
		}
		out[i] = math.Sqrt(q.sum() / float64(p))
	}
	return out
}

// refHMA builds the Hull MA from go-talib's WMA.
func refHMA(x []float64, p int) []float64 {
	n := len(x)
	half, sq := max(p/2, 1), max(int(math.Sqrt(float64(p))), 1)
	wh, wf := talib.Wma(x, half), talib.Wma(x, p)
	d := make([]float64, n-(p-1))
	for i := range d {
		d[i] = 2*wh[i+p-1] - wf[i+p-1]
	}
	wd := talib.Wma(d, sq)
	out := make([]float64, n)
	copy(out[p-1:], wd)
	return out
}

func TestAgainstTALib(t *testing.T) {
	t.Parallel()
	const n = 3000
	sets := []candles{makeCandles(1, n, false), makeCandles(2, n, true)}
	// The signed set's close is additionally replaced by a plain walk around
	// zero for a third set, so src-only indicators see both.
	w := makeCandles(3, n, true)
	w.name = "walk"
	w.close = walk(3, n)
	sets = append(sets, w)
	for _, tc := range taCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range sets {
				if (tc.positiveOnly && c.name != "positive") || (tc.walkOnly && c.name != "walk") {
					continue
				}
				got, want := tc.ours(c), tc.ref(c)
				if len(got) != len(want) || len(got) != len(tc.lookback) {
					t.Fatalf("%d outputs, %d reference outputs, %d lookbacks", len(got), len(want), len(tc.lookback))
				}
				for k := range got {
					name := fmt.Sprintf("%s/out%d", c.name, k)
					checkWarmup(t, name, got[k], tc.lookback[k])
					from := tc.lookback[k]
					if tc.from != nil {
						from = tc.from[k]
					}
					checkNear(t, name, got[k], want[k], from, taTol)
				}
			}
		})
	}
}

// TestTALibWarmupIsZero documents that TA-Lib leaves 0 where we leave NaN.
func TestTALibWarmupIsZero(t *testing.T) {
	t.Parallel()
	c := makeCandles(4, 100, false)
	for name, r := range map[string][]float64{
		"SMA": talib.Sma(c.close, 10), "RSI": talib.Rsi(c.close, 14), "ATR": talib.Atr(c.high, c.low, c.close, 14),
	} {
		if r[0] != 0 {
			t.Errorf("talib %s[0] = %v, want 0", name, r[0])
		}
	}
	if v := SMA(c.close, 10)[0]; !math.IsNaN(v) {
		t.Errorf("SMA[0] = %v, want NaN", v)
	}
}
