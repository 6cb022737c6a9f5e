package checks

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	mrand "math/rand"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tradai/tradai/sdk"
	"github.com/tradai/tradai/sdk/ta"
)

// walk returns a seeded random walk of n 5-minute candles.
func walk(pair string, n int, seed uint64) *sdk.Frame {
	rng := rand.New(rand.NewPCG(seed, 1))
	f := &sdk.Frame{Pair: pair, Timeframe: "5m"}
	price := 100.0
	t0 := int64(1_600_000_000_000)
	for i := range n {
		o := price
		price *= math.Exp(rng.NormFloat64() * 0.004)
		f.Time = append(f.Time, t0+int64(i)*300_000)
		f.Open = append(f.Open, o)
		f.High = append(f.High, math.Max(o, price)*1.001)
		f.Low = append(f.Low, math.Min(o, price)*0.999)
		f.Close = append(f.Close, price)
		f.Volume = append(f.Volume, 10+rng.Float64())
	}
	return f
}

// base returns a valid spec for a test strategy.
func base(name string, startup int) sdk.Spec {
	return sdk.Spec{
		Name: name, Timeframe: "5m", StartupCandles: startup,
		Params: []sdk.Param{{Name: "period", Kind: sdk.Int, Default: 50, Min: 2, Max: 200}},
		Risk:   sdk.Risk{MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.05}}, Stoploss: -0.1},
	}
}

// crossSMA enters when the close crosses above SMA(period) and exits when
// it crosses below: it needs period candles before a candle (period-1 for
// the SMA at the previous candle, plus that candle).
type crossSMA struct{ startup int }

func (s crossSMA) Spec() sdk.Spec { return base("cross_sma", s.startup) }

func (crossSMA) Populate(f *sdk.Frame, p sdk.Values) error {
	f.EnsureSignals()
	m := ta.SMA(f.Close, p.Int("period"))
	for i := 1; i < f.Len(); i++ {
		if math.IsNaN(m[i-1]) {
			continue
		}
		f.EnterLong[i] = f.Close[i-1] <= m[i-1] && f.Close[i] > m[i]
		f.ExitLong[i] = f.Close[i-1] >= m[i-1] && f.Close[i] < m[i]
		if f.EnterLong[i] {
			f.SetEnterTag(i, "cross")
		}
	}
	return nil
}

// peekNext enters when the next close is higher: the textbook look-ahead.
type peekNext struct{}

func (peekNext) Spec() sdk.Spec { return base("peek_next", 0) }

func (peekNext) Populate(f *sdk.Frame, _ sdk.Values) error {
	f.EnsureSignals()
	for i := 0; i+1 < f.Len(); i++ {
		f.EnterLong[i] = f.Close[i+1] > f.Close[i]*1.002
		f.ExitLong[i] = f.Close[i+1] < f.Close[i]*0.998
	}
	return nil
}

// shiftedMax exits at local highs: a rolling maximum shifted backwards
// (pandas' rolling(10).max().shift(-5)), a centred window in disguise.
type shiftedMax struct{}

func (shiftedMax) Spec() sdk.Spec { return base("shifted_max", 20) }

func (shiftedMax) Populate(f *sdk.Frame, _ sdk.Values) error {
	f.EnsureSignals()
	m := ta.Highest(f.Close, 10)
	for i := range f.Len() {
		if i+5 < f.Len() && !math.IsNaN(m[i+5]) {
			f.ExitLong[i] = f.Close[i] >= m[i+5]
		}
	}
	return nil
}

// peekTag has honest signals but tags entries with the future.
type peekTag struct{ crossSMA }

func (peekTag) Spec() sdk.Spec { return base("peek_tag", 60) }

func (s peekTag) Populate(f *sdk.Frame, p sdk.Values) error {
	if err := s.crossSMA.Populate(f, p); err != nil {
		return err
	}
	for i := range f.Len() {
		if f.EnterLong[i] && i+1 < f.Len() && f.Close[i+1] > f.Close[i] {
			f.SetEnterTag(i, "winner")
		}
	}
	return nil
}

// coinFlip enters at random with the unseeded global generator.
type coinFlip struct{}

func (coinFlip) Spec() sdk.Spec { return base("coin_flip", 0) }

func (coinFlip) Populate(f *sdk.Frame, _ sdk.Values) error {
	f.EnsureSignals()
	for i := range f.Len() {
		f.EnterLong[i] = mrand.Float64() < 0.1
	}
	return nil
}

// smoother overwrites the closes with a smoothed series.
type smoother struct{ crossSMA }

func (smoother) Spec() sdk.Spec { return base("smoother", 60) }

func (s smoother) Populate(f *sdk.Frame, p sdk.Values) error {
	for i := f.Len() - 1; i > 0; i-- {
		f.Close[i] = (f.Close[i] + f.Close[i-1]) / 2
	}
	return s.crossSMA.Populate(f, p)
}

// fussy refuses frames shorter than 500 candles though it declares 10.
type fussy struct{ crossSMA }

func (fussy) Spec() sdk.Spec { return base("fussy", 10) }

func (s fussy) Populate(f *sdk.Frame, p sdk.Values) error {
	if f.Len() < 500 {
		return errors.New("need 500 candles")
	}
	return s.crossSMA.Populate(f, p)
}

// specOnly is a strategy with a given spec and no signals.
type specOnly struct{ spec sdk.Spec }

func (s specOnly) Spec() sdk.Spec                          { return s.spec }
func (specOnly) Populate(f *sdk.Frame, _ sdk.Values) error { f.EnsureSignals(); return nil }

func run(t *testing.T, s sdk.Strategy, frames ...*sdk.Frame) Report {
	t.Helper()
	if len(frames) == 0 {
		frames = []*sdk.Frame{walk("AAA/USDT", 3000, 7)}
	}
	rep, err := Run(context.Background(), s, frames, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func result(t *testing.T, rep Report, name string) Result {
	t.Helper()
	for _, r := range rep.Checks {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no %s result in %+v", name, rep.Checks)
	return Result{}
}

func wantStatus(t *testing.T, rep Report, want map[string]Status) {
	t.Helper()
	for name, st := range want {
		if r := result(t, rep, name); r.Status != st {
			t.Errorf("%s: status %s, want %s: %s %v", name, r.Status, st, r.Summary, r.Details)
		}
	}
}

func TestHonestStrategyPasses(t *testing.T) {
	f := walk("AAA/USDT", 3000, 7)
	orig := candles(f, 0, f.Len())
	rep := run(t, crossSMA{startup: 60}, f, walk("BBB/USDT", 2000, 8))
	if !rep.Passed() || !rep.OK {
		for _, r := range rep.Checks {
			t.Logf("%s %s %s: %s", r.Name, r.Pair, r.Status, r.Summary)
		}
		t.Fatal("honest strategy failed")
	}
	if len(rep.Checks) != 1+2*5 {
		t.Fatalf("%d results, want 11", len(rep.Checks))
	}
	for _, r := range rep.Checks {
		if r.Status != Pass {
			t.Errorf("%s %s: %s", r.Name, r.Pair, r.Status)
		}
	}
	la := result(t, rep, Lookahead)
	if la.Sampled < 100 {
		t.Errorf("lookahead sampled %d candles", la.Sampled)
	}
	if st := result(t, rep, Startup).Startup; st == nil || st.Sufficient != 60 || st.Differing != 0 {
		t.Errorf("startup finding %+v", st)
	}
	// The input frame is left alone.
	for i := range f.Close {
		if f.Close[i] != orig.Close[i] || f.EnterLong != nil {
			t.Fatal("Run modified its input")
		}
	}
}

func TestLookaheadNextClose(t *testing.T) {
	rep := run(t, peekNext{})
	la := result(t, rep, Lookahead)
	if la.Status != Fail || rep.Passed() {
		t.Fatalf("peeking strategy passed: %s", la.Summary)
	}
	if la.Differences[colEnterLong] == 0 || la.Differences[colExitLong] == 0 {
		t.Errorf("differences %v should name enter_long and exit_long", la.Differences)
	}
	if !strings.Contains(la.Summary, "enter_long") || len(la.Examples) == 0 {
		t.Errorf("summary %q, %d examples", la.Summary, len(la.Examples))
	}
	ex := la.Examples[0]
	if ex.Expected != "true" || ex.Actual != "false" || ex.Time == "" || ex.Pair != "AAA/USDT" {
		t.Errorf("example %+v", ex)
	}
	// Every sampled candle where a signal fires is biased.
	if n := la.Differences[colEnterLong]; n < 100 {
		t.Errorf("only %d biased enter_long candles of the 100 sampled", n)
	}
	wantStatus(t, rep, map[string]Status{Schema: Pass, Populate: Pass, Mutation: Pass, Determinism: Pass})
}

func TestLookaheadShiftedRollingMax(t *testing.T) {
	rep := run(t, shiftedMax{})
	la := result(t, rep, Lookahead)
	if la.Status != Fail || la.Differences[colExitLong] == 0 || la.Differences[colEnterLong] != 0 {
		t.Fatalf("%s: %v", la.Summary, la.Differences)
	}
	for _, ex := range la.Examples {
		if ex.Column != colExitLong {
			t.Errorf("example %+v", ex)
		}
	}
}

func TestLookaheadInTag(t *testing.T) {
	la := result(t, run(t, peekTag{}), Lookahead)
	if la.Status != Fail || la.Differences[colEnterTag] == 0 || la.Differences[colEnterLong] != 0 {
		t.Fatalf("%s: %v", la.Summary, la.Differences)
	}
}

func TestStartupTooShort(t *testing.T) {
	rep := run(t, crossSMA{startup: 10})
	st := result(t, rep, Startup)
	if st.Status != Fail || st.Startup == nil {
		t.Fatalf("%s", st.Summary)
	}
	// SMA(50) at the previous candle needs 49 candles before that one: 50
	// candles of history before the candle.
	if st.Startup.Sufficient != 50 || st.Startup.Declared != 10 || st.Startup.Differing == 0 {
		t.Errorf("finding %+v", st.Startup)
	}
	if !strings.Contains(st.Summary, "smallest sufficient startup count: 50") {
		t.Errorf("summary %q", st.Summary)
	}
	if len(st.Examples) == 0 || st.Examples[0].Expected != "true" {
		t.Errorf("examples %+v", st.Examples)
	}
	wantStatus(t, rep, map[string]Status{Lookahead: Pass, Determinism: Pass})
	// 49 is one short.
	if st := result(t, run(t, crossSMA{startup: 49}), Startup); st.Status != Fail || st.Startup.Sufficient != 50 {
		t.Errorf("startup 49: %s", st.Summary)
	}
	if st := result(t, run(t, crossSMA{startup: 50}), Startup); st.Status != Pass {
		t.Errorf("startup 50: %s", st.Summary)
	}
}

func TestNondeterministic(t *testing.T) {
	rep := run(t, coinFlip{})
	det := result(t, rep, Determinism)
	if det.Status != Fail || det.Differences[colEnterLong] == 0 || len(det.Examples) == 0 {
		t.Fatalf("%s", det.Summary)
	}
	wantStatus(t, rep, map[string]Status{Lookahead: Skip, Startup: Skip})
}

func TestMutation(t *testing.T) {
	f := walk("AAA/USDT", 1000, 3)
	orig := candles(f, 0, f.Len())
	rep := run(t, smoother{}, f)
	m := result(t, rep, Mutation)
	if m.Status != Fail || m.Differences["close"] == 0 || !strings.Contains(m.Summary, "close") {
		t.Fatalf("%s %v", m.Summary, m.Differences)
	}
	if m.Examples[0].Column != "close" || m.Examples[0].Expected == m.Examples[0].Actual {
		t.Errorf("example %+v", m.Examples[0])
	}
	for i := range f.Close {
		if f.Close[i] != orig.Close[i] {
			t.Fatal("the strategy's writes reached the caller's frame")
		}
	}
}

func TestPopulateErrors(t *testing.T) {
	rep := run(t, fussy{})
	if la := result(t, rep, Lookahead); la.Status != Fail || !strings.Contains(la.Summary, "need 500 candles") || !strings.Contains(la.Summary, "candles 0..") {
		t.Errorf("lookahead: %s", la.Summary)
	}
	short := walk("AAA/USDT", 100, 1)
	rep = run(t, fussy{}, short)
	if p := result(t, rep, Populate); p.Status != Fail || !strings.Contains(p.Summary, "need 500 candles") {
		t.Errorf("populate: %s", p.Summary)
	}
	wantStatus(t, rep, map[string]Status{Mutation: Skip, Lookahead: Skip})
	// Too few candles for the startup count: skipped, not failed.
	rep = run(t, crossSMA{startup: 60}, walk("AAA/USDT", 61, 1))
	wantStatus(t, rep, map[string]Status{Populate: Pass, Lookahead: Skip, Startup: Skip})
	if !rep.Passed() {
		t.Error("skips failed the report")
	}
}

func TestSchema(t *testing.T) {
	cases := []struct {
		name string
		edit func(*sdk.Spec)
		want string
	}{
		{"min above max", func(s *sdk.Spec) { s.Params[0].Min, s.Params[0].Max = 100, 10 }, "min 100 is above max 10"},
		{"default outside", func(s *sdk.Spec) { s.Params[0].Default = 500 }, "outside [2, 200]"},
		{"bad name", func(s *sdk.Spec) { s.Params[0].Name = "fast period" }, "not an identifier"},
		{"duplicate name", func(s *sdk.Spec) { s.Params = append(s.Params, s.Params[0]) }, "declared twice"},
		{"no choices", func(s *sdk.Spec) { s.Params[0] = sdk.Param{Name: "mode", Kind: sdk.Categorical, Default: "a"} }, "has no choices"},
		{"duplicate choice", func(s *sdk.Spec) {
			s.Params[0] = sdk.Param{Name: "mode", Kind: sdk.Categorical, Default: "a", Choices: []string{"a", "b", "a"}}
		}, `lists choice "a" twice`},
		{"default not a choice", func(s *sdk.Spec) {
			s.Params[0] = sdk.Param{Name: "mode", Kind: sdk.Categorical, Default: "c", Choices: []string{"a", "b"}}
		}, "not one of"},
		{"timeframe", func(s *sdk.Spec) { s.Timeframe = "7m" }, "unknown timeframe"},
		{"startup", func(s *sdk.Spec) { s.StartupCandles = -1 }, "negative"},
		{"nan bound", func(s *sdk.Spec) { s.Params[0].Kind, s.Params[0].Max = sdk.Float, math.Inf(1) }, "finite"},
		{"fractional int bound", func(s *sdk.Spec) { s.Params[0].Min = 2.5 }, "whole numbers"},
		{"second bad default", func(s *sdk.Spec) {
			s.Params = append(s.Params,
				sdk.Param{Name: "a", Kind: sdk.Float, Default: 9.0, Min: 0, Max: 1},
				sdk.Param{Name: "b", Kind: sdk.Float, Default: 7.0, Min: 0, Max: 1})
		}, `parameter "b": 7 is outside`},
	}
	for _, tc := range cases {
		spec := base("bad", 0)
		tc.edit(&spec)
		r := checkSchema(specOnly{spec})
		if r.Status != Fail || !strings.Contains(r.Summary, tc.want) {
			t.Errorf("%s: %s %q, want a failure containing %q", tc.name, r.Status, r.Summary, tc.want)
		}
	}
	if r := checkSchema(specOnly{base("good", 0)}); r.Status != Pass {
		t.Errorf("valid spec: %s", r.Summary)
	}
	if r := checkSchema(&drifting{}); r.Status != Fail || !strings.Contains(r.Summary, "second call") {
		t.Errorf("drifting spec: %s", r.Summary)
	}
}

// drifting returns a different spec on every call.
type drifting struct{ n int }

func (d *drifting) Spec() sdk.Spec {
	d.n++
	return base("drifting", d.n)
}
func (*drifting) Populate(f *sdk.Frame, _ sdk.Values) error { f.EnsureSignals(); return nil }

func TestDeterministicSampling(t *testing.T) {
	a := run(t, peekNext{})
	b := run(t, peekNext{})
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("two runs gave different reports")
	}
	c, err := Run(context.Background(), peekNext{}, []*sdk.Frame{walk("AAA/USDT", 3000, 7)}, nil, Options{Samples: 10, Seed: 99})
	if err != nil {
		t.Fatal(err)
	}
	if la := result(t, c, Lookahead); la.Sampled > 50 || la.Sampled < 20 {
		t.Errorf("with 10 samples per column, %d candles sampled", la.Sampled)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, crossSMA{startup: 60}, []*sdk.Frame{walk("AAA/USDT", 500, 1)}, nil, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}
