package optimize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tradai/tradai/internal/atomicfile"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/sdk"
)

// ParamsFile is Freqtrade's strategy parameter file (`<strategy>.json`,
// format version 1): the parameters a hyperopt found, read back by a
// backtest.
type ParamsFile struct {
	StrategyName string       `json:"strategy_name"`
	Params       ParamsGroups `json:"params"`
	Version      int          `json:"ft_stratparam_v"`
	// ExportTime is written as Freqtrade writes it,
	// "2006-01-02 15:04:05.000000+00:00".
	ExportTime string `json:"export_time"`
}

// ParamsGroups are the file's sections, one per space.
type ParamsGroups struct {
	Buy      map[string]any `json:"buy,omitempty"`
	Sell     map[string]any `json:"sell,omitempty"`
	ROI      *sdk.ROITable  `json:"roi,omitempty"`
	Stoploss *struct {
		Stoploss float64 `json:"stoploss"`
	} `json:"stoploss,omitempty"`
	Trailing *Trailing `json:"trailing,omitempty"`
	// MaxOpenTrades is read from files Freqtrade wrote; TradAI does not
	// search it.
	MaxOpenTrades *struct {
		MaxOpenTrades int `json:"max_open_trades"`
	} `json:"max_open_trades,omitempty"`
	// Protection is accepted empty, as Freqtrade writes it.
	Protection map[string]any `json:"protection,omitempty"`
}

// Trailing is the trailing section of a parameter file.
type Trailing struct {
	TrailingStop                bool     `json:"trailing_stop"`
	TrailingStopPositive        *float64 `json:"trailing_stop_positive"`
	TrailingStopPositiveOffset  float64  `json:"trailing_stop_positive_offset"`
	TrailingOnlyOffsetIsReached bool     `json:"trailing_only_offset_is_reached"`
}

// NewParamsFile is the parameter file of a strategy declaring spec run
// with the resolved parameter values and risk settings: every parameter
// (searched or not) in its buy or sell section (see [ParamSpace]) and the
// roi, stoploss and trailing sections, so a backtest of the file repeats
// the trial. at is the export time.
func NewParamsFile(spec sdk.Spec, values sdk.Values, risk sdk.Risk, at time.Time) *ParamsFile {
	f := &ParamsFile{StrategyName: spec.Name, Version: 1, ExportTime: at.UTC().Format("2006-01-02 15:04:05.000000-07:00")}
	for _, p := range spec.Params {
		v, ok := values[p.Name]
		if !ok {
			continue
		}
		sec := &f.Params.Buy
		if ParamSpace(p.Name) == SpaceSell {
			sec = &f.Params.Sell
		}
		if *sec == nil {
			*sec = map[string]any{}
		}
		(*sec)[p.Name] = v
	}
	roi := risk.MinimalROI
	f.Params.ROI = &roi
	f.Params.Stoploss = &struct {
		Stoploss float64 `json:"stoploss"`
	}{risk.Stoploss}
	f.Params.Trailing = &Trailing{
		TrailingStop:                risk.TrailingStop,
		TrailingStopPositiveOffset:  risk.TrailingStopPositiveOffset,
		TrailingOnlyOffsetIsReached: risk.TrailingOnlyOffsetIsReached,
	}
	if risk.TrailingStopPositive != 0 {
		pos := risk.TrailingStopPositive
		f.Params.Trailing.TrailingStopPositive = &pos
	}
	return f
}

// Write writes f to path (atomically), indented as Freqtrade writes it.
func (f *ParamsFile) Write(path string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(f)
	})
}

// ReadParams reads a strategy parameter file. Unknown keys, a version
// other than 1 and protections are errors naming the file.
func ReadParams(path string) (*ParamsFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("strategy parameter file: %w", err)
	}
	f, err := ParseParams(data)
	if err != nil {
		return nil, fmt.Errorf("strategy parameter file %s: %w", path, err)
	}
	return f, nil
}

// ParseParams decodes a strategy parameter file's content strictly.
func ParseParams(data []byte) (*ParamsFile, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	var f ParamsFile
	if err := d.Decode(&f); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	switch {
	case f.StrategyName == "":
		return nil, errors.New("strategy_name is missing")
	case f.Version != 1:
		return nil, fmt.Errorf("ft_stratparam_v %d is not supported (1 is)", f.Version)
	case len(f.Params.Protection) > 0:
		return nil, errors.New("params.protection: protections are not supported")
	}
	if f.Params.Stoploss != nil {
		if s := f.Params.Stoploss.Stoploss; !(s < 0 && s >= -1) {
			return nil, fmt.Errorf("params.stoploss.stoploss %v must be in [-1, 0)", s)
		}
	}
	if t := f.Params.Trailing; t != nil && t.TrailingStopPositive != nil {
		if p := *t.TrailingStopPositive; !(p >= 0 && p < 1) {
			return nil, fmt.Errorf("params.trailing.trailing_stop_positive %v must be in [0, 1)", p)
		}
	}
	for _, sec := range []map[string]any{f.Params.Buy, f.Params.Sell} {
		for k, v := range sec {
			switch v.(type) {
			case float64, bool, string:
			default:
				return nil, fmt.Errorf("params: parameter %q: want a number, true/false or a string, got %T", k, v)
			}
		}
	}
	return &f, nil
}

// Apply puts f's values into cfg for a backtest of the strategy declaring
// spec: buy and sell over strategy_params, then minimal_roi, stoploss,
// the trailing settings and max_open_trades where the file has them. The
// file wins over the config's values. A file of another strategy is an
// error naming both.
func (f *ParamsFile) Apply(cfg *config.Config, spec sdk.Spec) error {
	if f.StrategyName != spec.Name {
		return fmt.Errorf("the parameter file is for strategy %s, not %s", f.StrategyName, spec.Name)
	}
	if len(f.Params.Buy)+len(f.Params.Sell) > 0 {
		merged := make(map[string]any, len(cfg.StrategyParams))
		for k, v := range cfg.StrategyParams {
			merged[k] = v
		}
		for _, sec := range []map[string]any{f.Params.Buy, f.Params.Sell} {
			for k, v := range sec {
				merged[k] = v
			}
		}
		cfg.StrategyParams = merged
	}
	if f.Params.ROI != nil {
		roi := *f.Params.ROI
		cfg.MinimalROI = &roi
	}
	if f.Params.Stoploss != nil {
		s := f.Params.Stoploss.Stoploss
		cfg.Stoploss = &s
	}
	if t := f.Params.Trailing; t != nil {
		ts, only, off := t.TrailingStop, t.TrailingOnlyOffsetIsReached, t.TrailingStopPositiveOffset
		var pos float64
		if t.TrailingStopPositive != nil {
			pos = *t.TrailingStopPositive
		}
		cfg.TrailingStop, cfg.TrailingOnlyOffsetIsReached = &ts, &only
		cfg.TrailingStopPositive, cfg.TrailingStopPositiveOffset = &pos, &off
	}
	if m := f.Params.MaxOpenTrades; m != nil {
		cfg.MaxOpenTrades = m.MaxOpenTrades
	}
	return nil
}

// Bake is spec with f's values as its defaults: the buy and sell values
// as the parameters' defaults, and the roi, stoploss and trailing
// sections as its risk settings, where the file has them (max_open_trades
// is a config setting and stays one). A registry version whose code has
// its parameter file beside it (strategyref.ParamsFileName) declares the
// baked spec. A file of another strategy, or a value out of a parameter's
// range, is an error naming it.
func (f *ParamsFile) Bake(spec sdk.Spec) (sdk.Spec, error) {
	if f.StrategyName != spec.Name {
		return sdk.Spec{}, fmt.Errorf("the parameter file is for strategy %s, not %s", f.StrategyName, spec.Name)
	}
	overrides := map[string]any{}
	for _, sec := range []map[string]any{f.Params.Buy, f.Params.Sell} {
		for k, v := range sec {
			overrides[k] = v
		}
	}
	values, err := spec.Resolve(overrides)
	if err != nil {
		return sdk.Spec{}, fmt.Errorf("the parameter file: %w", err)
	}
	out := spec
	out.Params = make([]sdk.Param, len(spec.Params))
	for i, p := range spec.Params {
		p.Default = values[p.Name]
		out.Params[i] = p
	}
	if f.Params.ROI != nil {
		out.Risk.MinimalROI = *f.Params.ROI
	}
	if f.Params.Stoploss != nil {
		out.Risk.Stoploss = f.Params.Stoploss.Stoploss
	}
	if t := f.Params.Trailing; t != nil {
		out.Risk.TrailingStop, out.Risk.TrailingOnlyOffsetIsReached = t.TrailingStop, t.TrailingOnlyOffsetIsReached
		out.Risk.TrailingStopPositive, out.Risk.TrailingStopPositiveOffset = 0, t.TrailingStopPositiveOffset
		if t.TrailingStopPositive != nil {
			out.Risk.TrailingStopPositive = *t.TrailingStopPositive
		}
	}
	if err := out.Validate(); err != nil {
		return sdk.Spec{}, fmt.Errorf("the parameter file: %w", err)
	}
	return out, nil
}
