package optimize

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

func specWithSell() sdk.Spec {
	return sdk.Spec{Name: "bs", Timeframe: "5m", Risk: sdk.Risk{Stoploss: -0.1}, Params: []sdk.Param{
		{Name: "buy_rsi", Kind: sdk.Int, Default: 30, Min: 10, Max: 40},
		{Name: "sell_rsi", Kind: sdk.Float, Default: 70.0, Min: 60, Max: 90},
		{Name: "exit_on", Kind: sdk.Bool, Default: true},
		{Name: "mode", Kind: sdk.Categorical, Default: "a", Choices: []string{"a", "b"}},
	}}
}

func dimNames(s *Space) []string {
	var out []string
	for _, d := range s.Dims() {
		out = append(out, d.Name)
	}
	return out
}

func TestSpaceSelection(t *testing.T) {
	cases := []struct {
		spaces []string
		dims   []string
	}{
		{[]string{"buy"}, []string{"buy_rsi", "mode"}},
		{[]string{"sell"}, []string{"sell_rsi", "exit_on"}},
		{[]string{"stoploss", "buy"}, []string{"buy_rsi", "mode", "stoploss"}},
		{[]string{"default"}, []string{"buy_rsi", "mode", "sell_rsi", "exit_on", "roi_t1", "roi_t2", "roi_t3", "roi_p1", "roi_p2", "roi_p3", "stoploss"}},
		{[]string{"trailing"}, []string{"trailing_stop_positive", "trailing_stop_positive_offset_p1", "trailing_only_offset_is_reached"}},
	}
	for _, c := range cases {
		s, err := NewSpace(specWithSell(), "5m", c.spaces)
		if err != nil {
			t.Fatalf("%v: %v", c.spaces, err)
		}
		if got := dimNames(s); !reflect.DeepEqual(got, c.dims) {
			t.Errorf("%v: dimensions %v, want %v", c.spaces, got, c.dims)
		}
	}
	// sma_cross has buy parameters only: "all" skips sell, "sell" is an
	// error naming the space and the convention.
	sma := strategy.SMACross{}.Spec()
	s, err := NewSpace(sma, "5m", []string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Spaces(); !reflect.DeepEqual(got, []string{"buy", "roi", "stoploss", "trailing"}) {
		t.Errorf("all on sma_cross: spaces %v", got)
	}
	for spaces, msg := range map[string]string{
		"sell":     "--spaces sell: strategy sma_cross declares no sell parameter (sell parameters are those named sell_* or exit_*)",
		"protects": `--spaces: unknown space "protects"`,
		"":         "--spaces: no space selected",
	} {
		var names []string
		if spaces != "" {
			names = []string{spaces}
		}
		if _, err := NewSpace(sma, "5m", names); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", spaces, err, msg)
		}
	}
	noParams := sdk.Spec{Name: "none", Timeframe: "5m"}
	if _, err := NewSpace(noParams, "5m", []string{"default"}); err != nil {
		t.Errorf("default without parameters still has roi and stoploss: %v", err)
	}
	if _, err := NewSpace(noParams, "5m", []string{"buy"}); err == nil || !strings.Contains(err.Error(), "--spaces buy") {
		t.Errorf("buy without parameters: %v", err)
	}
}

// The roi ranges are Freqtrade's: the legacy ones on 5m, time scaled
// linearly and ratios by log(1+minutes)/log(1+5) on other timeframes.
func TestROIRanges(t *testing.T) {
	want5m := sample.Space{
		{Name: "roi_t1", Low: 10, High: 120, Int: true},
		{Name: "roi_t2", Low: 10, High: 60, Int: true},
		{Name: "roi_t3", Low: 10, High: 40, Int: true},
		{Name: "roi_p1", Low: 0.01, High: 0.04, Step: 0.001},
		{Name: "roi_p2", Low: 0.01, High: 0.07, Step: 0.001},
		{Name: "roi_p3", Low: 0.01, High: 0.20, Step: 0.001},
	}
	if got := roiDims("5m"); !reflect.DeepEqual(got, want5m) {
		t.Errorf("5m roi space %+v", got)
	}
	h := roiDims("1h")
	scale := math.Log(61) / math.Log(6)
	if h[0].Low != 120 || h[0].High != 1440 || h[2].High != 480 || math.Abs(h[5].High-0.2*scale) > 1e-12 {
		t.Errorf("1h roi space %+v", h)
	}
	if m := roiDims("1m"); m[0].Low != 2 || m[0].High != 24 {
		t.Errorf("1m roi space %+v", m)
	}
}

func TestDecode(t *testing.T) {
	s, err := NewSpace(specWithSell(), "5m", []string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	base := sdk.Risk{Stoploss: -0.1, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.5}}}
	// buy_rsi, mode, sell_rsi, exit_on, roi t1 t2 t3 p1 p2 p3, stoploss,
	// trailing positive, offset difference, only-offset.
	x := []float64{22.4, 1, 65.5, 0, 100, 50, 20, 0.0204, 0.03, 0.1, -0.1234, 0.02, 0.011, 1}
	p := s.Decode(x, base)
	wantParams := map[string]any{"buy_rsi": 22, "mode": "b", "sell_rsi": 65.5, "exit_on": false}
	if !reflect.DeepEqual(p.Params, wantParams) {
		t.Errorf("params %v, want %v", p.Params, wantParams)
	}
	want := sdk.Risk{
		MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.15}, {Minutes: 20, Ratio: 0.05}, {Minutes: 70, Ratio: 0.02}, {Minutes: 170, Ratio: 0}},
		Stoploss:   -0.123, TrailingStop: true, TrailingStopPositive: 0.02, TrailingStopPositiveOffset: 0.031, TrailingOnlyOffsetIsReached: true,
	}
	if !reflect.DeepEqual(p.Risk, want) {
		t.Errorf("risk %+v, want %+v", p.Risk, want)
	}
	if err := p.Risk.Validate(); err != nil {
		t.Error(err)
	}
	if base.Stoploss != -0.1 || len(base.MinimalROI) != 1 {
		t.Error("Decode changed the base risk")
	}
	y := append([]float64(nil), x...)
	y[10], y[4] = -0.3, 11 // risk only: same signals
	if s.ParamKey(x) != s.ParamKey(y) {
		t.Error("a risk-only change changed the parameter key")
	}
	y[0] = 23
	if s.ParamKey(x) == s.ParamKey(y) {
		t.Error("a parameter change kept the parameter key")
	}
}

// Every point a sampler can draw decodes into valid risk settings.
func TestDecodeAlwaysValid(t *testing.T) {
	for _, tf := range []sdk.Timeframe{"1m", "5m", "1h", "1d"} {
		s, err := NewSpace(specWithSell(), tf, []string{"all"})
		if err != nil {
			t.Fatal(err)
		}
		r, _ := sample.New("random", s.Dims(), 1)
		for range 2000 {
			x, _ := r.Ask()
			p := s.Decode(x, sdk.Risk{Stoploss: -0.1})
			if err := p.Risk.Validate(); err != nil {
				t.Fatalf("%s: %v decodes to invalid risk: %v", tf, x, err)
			}
			if _, err := specWithSell().Resolve(p.Params); err != nil {
				t.Fatalf("%s: %v: %v", tf, x, err)
			}
		}
	}
}
