package sdk

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestROITableJSON(t *testing.T) {
	t.Parallel()
	var r ROITable
	if err := json.Unmarshal([]byte(`{"60": 0.01, "0": 0.04, "30": 0.02}`), &r); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	if string(b) != `{"0":0.04,"30":0.02,"60":0.01}` {
		t.Fatalf("round trip: %s", b)
	}
	if s, ok := r.At(45); !ok || s.Minutes != 30 {
		t.Fatalf("At(45) = %+v %v", s, ok)
	}
	if _, ok := (ROITable{{Minutes: 10, Ratio: 0.1}}).At(5); ok {
		t.Fatal("At before the first step must find nothing")
	}
	for _, bad := range []string{`{"-5": 0.1}`, `{"x": 0.1}`, `{"0": -2}`, `[0.1]`} {
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestResolveParams(t *testing.T) {
	t.Parallel()
	s := Spec{Name: "x", Timeframe: "5m", Risk: Risk{Stoploss: -0.1}, Params: []Param{
		{Name: "n", Kind: Int, Default: 10, Min: 1, Max: 50},
		{Name: "k", Kind: Float, Default: 2.0, Min: 0.5, Max: 4},
		{Name: "mode", Kind: Categorical, Default: "a", Choices: []string{"a", "b"}},
	}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	v, err := s.Resolve(map[string]any{"n": float64(20), "mode": "b"})
	if err != nil || v.Int("n") != 20 || v.Float("k") != 2 || v.String("mode") != "b" {
		t.Fatalf("%v %v", v, err)
	}
	for _, bad := range []map[string]any{{"n": 2.5}, {"n": float64(99)}, {"k": "x"}, {"mode": "c"}, {"zzz": 1}} {
		if _, err := s.Resolve(bad); err == nil || !strings.Contains(err.Error(), "strategy x") {
			t.Errorf("%v: got %v", bad, err)
		}
	}
}

func TestParseTimeframe(t *testing.T) {
	t.Parallel()
	for _, tf := range Timeframes() {
		if _, err := ParseTimeframe(string(tf)); err != nil || tf.Minutes() == 0 {
			t.Errorf("%s: %v", tf, err)
		}
	}
	if tf, _ := ParseTimeframe("1h"); tf.Millis() != 3_600_000 {
		t.Fatal("1h is not an hour")
	}
	if _, err := ParseTimeframe("7m"); err == nil {
		t.Fatal("7m accepted")
	}
}

// file_signals is optional on the wire: a spec without it (every strategy
// written before it existed) computes its signals, and such a spec is
// written without it.
func TestSpecFileSignalsJSON(t *testing.T) {
	t.Parallel()
	var s Spec
	old := `{"name":"x","timeframe":"5m","startup_candle_count":0,"can_short":false,"risk":{"minimal_roi":{},"stoploss":-0.1,"trailing_stop":false}}`
	if err := json.Unmarshal([]byte(old), &s); err != nil {
		t.Fatal(err)
	}
	if s.FileSignals {
		t.Fatal("a spec without file_signals takes the file's signals")
	}
	if b, _ := json.Marshal(s); string(b) != old {
		t.Fatalf("round trip of a spec without file_signals:\n%s\n%s", b, old)
	}
	if err := json.Unmarshal([]byte(`{"name":"x","timeframe":"5m","file_signals":true}`), &s); err != nil || !s.FileSignals {
		t.Fatalf("file_signals true: %v, %+v", err, s)
	}
}
