package optimize

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/sdk"
)

func TestParamsFileRoundTrip(t *testing.T) {
	spec := specWithSell()
	values, err := spec.Resolve(map[string]any{"buy_rsi": 25, "sell_rsi": 80.5})
	if err != nil {
		t.Fatal(err)
	}
	risk := sdk.Risk{
		MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.15}, {Minutes: 20, Ratio: 0.05}, {Minutes: 70, Ratio: 0}},
		Stoploss:   -0.123, TrailingStop: true, TrailingStopPositive: 0.02, TrailingStopPositiveOffset: 0.031,
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 890_123_000, time.UTC)
	path := filepath.Join(t.TempDir(), "bs.json")
	if err := NewParamsFile(spec, values, risk, at).Write(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	want := `{
  "strategy_name": "bs",
  "params": {
    "buy": {
      "buy_rsi": 25,
      "mode": "a"
    },
    "sell": {
      "exit_on": true,
      "sell_rsi": 80.5
    },
    "roi": {
      "0": 0.15,
      "20": 0.05,
      "70": 0
    },
    "stoploss": {
      "stoploss": -0.123
    },
    "trailing": {
      "trailing_stop": true,
      "trailing_stop_positive": 0.02,
      "trailing_stop_positive_offset": 0.031,
      "trailing_only_offset_is_reached": false
    }
  },
  "ft_stratparam_v": 1,
  "export_time": "2026-03-04 05:06:07.890123+00:00"
}
`
	if string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}
	f, err := ReadParams(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.StrategyParams = map[string]any{"mode": "b", "buy_rsi": 11}
	if err := f.Apply(cfg, spec); err != nil {
		t.Fatal(err)
	}
	got, err := spec.Resolve(cfg.StrategyParams)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, values) {
		t.Errorf("values read back %v, want %v", got, values)
	}
	if r := cfg.Risk(spec.Risk); !reflect.DeepEqual(r, risk) {
		t.Errorf("risk read back %+v, want %+v", r, risk)
	}
	if err := f.Apply(cfg, sdk.Spec{Name: "other"}); err == nil || !strings.Contains(err.Error(), "for strategy bs, not other") {
		t.Errorf("another strategy: %v", err)
	}
}

// A file Freqtrade wrote (null trailing_stop_positive, max_open_trades,
// an empty protection section) is read.
func TestParamsFileFromFreqtrade(t *testing.T) {
	f, err := ParseParams([]byte(`{"strategy_name": "bs", "params": {"max_open_trades": {"max_open_trades": 4},
	  "trailing": {"trailing_stop": false, "trailing_stop_positive": null, "trailing_stop_positive_offset": 0.0, "trailing_only_offset_is_reached": false},
	  "buy": {"buy_rsi": 33}, "protection": {}}, "ft_stratparam_v": 1, "export_time": "2023-05-10 12:00:00.000000+00:00"}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	if err := f.Apply(cfg, specWithSell()); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxOpenTrades != 4 || *cfg.TrailingStop || *cfg.TrailingStopPositive != 0 || cfg.StrategyParams["buy_rsi"] != 33.0 || cfg.Stoploss != nil {
		t.Errorf("config after the file: %+v", cfg)
	}
}

func TestParamsFileErrors(t *testing.T) {
	for text, msg := range map[string]string{
		`{"strategy_name": "x", "params": {}, "ft_stratparam_v": 2}`:                              "ft_stratparam_v 2",
		`{"params": {}, "ft_stratparam_v": 1}`:                                                    "strategy_name is missing",
		`{"strategy_name": "x", "params": {"bye": {}}, "ft_stratparam_v": 1}`:                     `unknown field "bye"`,
		`{"strategy_name": "x", "params": {"stoploss": {"stoploss": 0.1}}, "ft_stratparam_v": 1}`: "params.stoploss.stoploss 0.1",
		`{"strategy_name": "x", "params": {"buy": {"a": [1]}}, "ft_stratparam_v": 1}`:             `parameter "a"`,
		`{"strategy_name": "x", "params": {"protection": {"a": 1}}, "ft_stratparam_v": 1}`:        "protections are not supported",
		`{"strategy_name": "x", "params": {"roi": {"a": 1}}, "ft_stratparam_v": 1}`:               `minimal_roi key "a"`,
		`{"strategy_name": "x", "params": {}, "ft_stratparam_v": 1} {}`:                           "trailing data",
	} {
		if _, err := ParseParams([]byte(text)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", text, err, msg)
		}
	}
	if _, err := ReadParams(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "strategy parameter file") {
		t.Errorf("missing file: %v", err)
	}
}

// A parameter file is user input: parsing never panics, and what parses
// applies to a config without panicking.
func FuzzParseParams(f *testing.F) {
	f.Add([]byte(`{"strategy_name": "bs", "params": {"buy": {"buy_rsi": 25}, "roi": {"0": 0.1}, "stoploss": {"stoploss": -0.1}}, "ft_stratparam_v": 1}`))
	f.Add([]byte(`{"strategy_name": "bs", "params": {"trailing": {"trailing_stop_positive": null}}, "ft_stratparam_v": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseParams(data)
		if err != nil {
			return
		}
		cfg := config.Default()
		if err := p.Apply(cfg, sdk.Spec{Name: p.StrategyName}); err != nil {
			t.Fatal(err)
		}
		_ = cfg.Validate()
		// A version's parameter file (tenant code): baked, it is a spec
		// that validates, or an error.
		spec := specWithSell()
		spec.Name = p.StrategyName
		if baked, err := p.Bake(spec); err == nil {
			if err := baked.Validate(); err != nil {
				t.Fatalf("baked spec does not validate: %v", err)
			}
			if _, err := baked.Resolve(nil); err != nil {
				t.Fatalf("baked defaults do not resolve: %v", err)
			}
		}
	})
}

func TestBakeMakesTheFileTheDefaults(t *testing.T) {
	f, err := ParseParams([]byte(`{"strategy_name": "bs", "params": {"buy": {"buy_rsi": 25, "mode": "b"}, "sell": {"sell_rsi": 80.5},
	  "roi": {"0": 0.2, "30": 0.05}, "stoploss": {"stoploss": -0.07},
	  "trailing": {"trailing_stop": true, "trailing_stop_positive": 0.01, "trailing_stop_positive_offset": 0.02, "trailing_only_offset_is_reached": true}}, "ft_stratparam_v": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	baked, err := f.Bake(specWithSell())
	if err != nil {
		t.Fatal(err)
	}
	vals, err := baked.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := baked.Risk
	if fmt.Sprint([]any{vals["buy_rsi"], vals["sell_rsi"], vals["mode"], vals["exit_on"]}) != "[25 80.5 b true]" || r.Stoploss != -0.07 || len(r.MinimalROI) != 2 ||
		!r.TrailingStop || r.TrailingStopPositive != 0.01 || r.TrailingStopPositiveOffset != 0.02 || !r.TrailingOnlyOffsetIsReached {
		t.Fatalf("baked defaults %v, risk %+v", vals, r)
	}
	if specWithSell().Params[0].Default != 30 {
		t.Fatal("Bake changed the spec it was given")
	}
	for text, msg := range map[string]string{
		`{"strategy_name": "other", "params": {}, "ft_stratparam_v": 1}`:                    "not bs",
		`{"strategy_name": "bs", "params": {"buy": {"buy_rsi": 99}}, "ft_stratparam_v": 1}`: "buy_rsi",
	} {
		f, err := ParseParams([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Bake(specWithSell()); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want an error naming %s", text, err, msg)
		}
	}
}
