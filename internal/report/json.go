package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// jsonExport is the top-level JSON document. Field order here is the key
// order in the output.
type jsonExport struct {
	Strategy           jsonStrategy    `json:"strategy"`
	Trades             []jsonTrade     `json:"trades"`
	Metrics            metrics.Summary `json:"metrics"`
	ResultsPerPair     []metrics.Group `json:"results_per_pair"`
	ExitReasonSummary  []metrics.Group `json:"exit_reason_summary"`
	ResultsPerEnterTag []metrics.Group `json:"results_per_enter_tag"`
	DailyProfit        []metrics.Day   `json:"daily_profit"`
	EquityCurve        []jsonEquity    `json:"equity_curve"`
	BenchmarkCurve     []jsonEquity    `json:"benchmark_curve"`
}

type jsonStrategy struct {
	Name            string     `json:"name"`
	Timeframe       string     `json:"timeframe"`
	Params          sdk.Values `json:"params"`
	Pairs           []string   `json:"pairs"`
	Exchange        string     `json:"exchange"`
	StakeCurrency   string     `json:"stake_currency"`
	TradingMode     string     `json:"trading_mode"`
	StartingBalance float64    `json:"starting_balance"`
	MaxOpenTrades   int        `json:"max_open_trades"`
	BacktestStart   string     `json:"backtest_start"`
	BacktestEnd     string     `json:"backtest_end"`
	BacktestStartTs int64      `json:"backtest_start_ts"`
	BacktestEndTs   int64      `json:"backtest_end_ts"`
	FinalBalance    float64    `json:"final_balance"`
	Candles         int        `json:"candles"`
}

// jsonTrade is one trade with Freqtrade's backtest field names.
type jsonTrade struct {
	Pair               string  `json:"pair"`
	OpenDate           string  `json:"open_date"`
	CloseDate          *string `json:"close_date"` // null while open
	OpenTimestamp      int64   `json:"open_timestamp"`
	CloseTimestamp     *int64  `json:"close_timestamp"` // null while open
	OpenRate           float64 `json:"open_rate"`
	CloseRate          float64 `json:"close_rate"`
	Amount             float64 `json:"amount"`
	StakeAmount        float64 `json:"stake_amount"`
	ProfitRatio        float64 `json:"profit_ratio"`
	ProfitAbs          float64 `json:"profit_abs"`
	ExitReason         string  `json:"exit_reason"`
	EnterTag           string  `json:"enter_tag"`
	IsOpen             bool    `json:"is_open"`
	IsShort            bool    `json:"is_short"`
	Leverage           float64 `json:"leverage"`
	FeeOpen            float64 `json:"fee_open"`
	FeeClose           float64 `json:"fee_close"`
	TradeDuration      int64   `json:"trade_duration"` // minutes
	InitialStopLossAbs float64 `json:"initial_stop_loss_abs"`
	StopLossAbs        float64 `json:"stop_loss_abs"`
	LiquidationPrice   float64 `json:"liquidation_price"`
	MaxRate            float64 `json:"max_rate"`
	MinRate            float64 `json:"min_rate"`
}

type jsonEquity struct {
	Date      string  `json:"date"`
	Timestamp int64   `json:"timestamp"`
	Equity    float64 `json:"equity"`
}

// WriteJSON writes the backtest as one indented JSON object:
//
//	{
//	  "strategy": {name, timeframe, params, pairs, exchange, stake_currency,
//	               trading_mode, starting_balance, max_open_trades,
//	               backtest_start, backtest_end, ...},
//	  "trades": [...],            // Freqtrade's trade field names
//	  "metrics": {...},           // m.Summary
//	  "results_per_pair": [...],
//	  "exit_reason_summary": [...],
//	  "results_per_enter_tag": [...],
//	  "daily_profit": [...],
//	  "equity_curve": [{"date", "timestamp", "equity"}, ...],
//	  "benchmark_curve": [...]   // buy and hold of the pairs, as equity_curve
//	}
//
// Dates are ISO 8601 in UTC ("2018-01-10T07:25:00Z"), timestamps Unix
// milliseconds, trade_duration whole minutes. Empty lists are written as []
// rather than null. The output is byte-identical for equal inputs. JSON has
// no NaN or Infinity: if any number is not finite, nothing is written and
// the error names the field, e.g. "trades[3].profit_ratio".
func WriteJSON(w io.Writer, res *result.Result, m metrics.Report) error {
	if res == nil {
		return fmt.Errorf("report: nil backtest result")
	}
	doc := buildJSON(res, m)
	if err := checkFinite(reflect.ValueOf(doc)); err != nil {
		return err
	}
	return writeIndented(w, reflect.ValueOf(doc))
}

// writeIndented writes the struct doc as an Encoder with two-space
// indentation and without HTML escaping would, but list by list and
// element by element through one small buffer: the export of a large
// backtest is never held whole in memory twice over.
func writeIndented(w io.Writer, doc reflect.Value) error {
	out := bufio.NewWriterSize(w, 1<<16)
	var compact, indented bytes.Buffer
	enc := json.NewEncoder(&compact)
	enc.SetEscapeHTML(false)
	// put writes v as a value at nesting depth (2 spaces each).
	put := func(v reflect.Value, depth int) error {
		compact.Reset()
		indented.Reset()
		if err := enc.Encode(v.Interface()); err != nil {
			return fmt.Errorf("report: encoding JSON: %w", err)
		}
		if err := json.Indent(&indented, bytes.TrimSuffix(compact.Bytes(), []byte{'\n'}), strings.Repeat("  ", depth), "  "); err != nil {
			return fmt.Errorf("report: encoding JSON: %w", err)
		}
		_, err := out.Write(indented.Bytes())
		return err
	}
	t := doc.Type()
	_, _ = out.WriteString("{")
	for i := range t.NumField() {
		if i > 0 {
			_, _ = out.WriteString(",")
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		_, _ = out.WriteString("\n  \"" + name + "\": ")
		v := doc.Field(i)
		if v.Kind() != reflect.Slice || v.IsNil() || v.Len() == 0 {
			if err := put(v, 1); err != nil {
				return err
			}
			continue
		}
		_, _ = out.WriteString("[")
		for k := range v.Len() {
			if k > 0 {
				_, _ = out.WriteString(",")
			}
			_, _ = out.WriteString("\n    ")
			if err := put(v.Index(k), 2); err != nil {
				return err
			}
		}
		_, _ = out.WriteString("\n  ]")
	}
	_, _ = out.WriteString("\n}\n")
	return out.Flush()
}

func buildJSON(res *result.Result, m metrics.Report) jsonExport {
	params := res.Params
	if params == nil {
		params = sdk.Values{}
	}
	doc := jsonExport{
		Strategy: jsonStrategy{
			Name:            res.Strategy,
			Timeframe:       string(res.Timeframe),
			Params:          params,
			Pairs:           nonNil(res.Pairs),
			Exchange:        res.Exchange,
			StakeCurrency:   res.StakeCurrency,
			TradingMode:     res.TradingMode,
			StartingBalance: res.StartingBalance,
			MaxOpenTrades:   res.MaxOpenTrades,
			BacktestStart:   isoTime(res.Start),
			BacktestEnd:     isoTime(res.End),
			BacktestStartTs: res.Start,
			BacktestEndTs:   res.End,
			FinalBalance:    res.FinalBalance,
			Candles:         res.Candles,
		},
		Trades:             make([]jsonTrade, 0, len(res.Trades)),
		Metrics:            m.Summary,
		ResultsPerPair:     nonNil(m.PerPair),
		ExitReasonSummary:  nonNil(m.PerExitReason),
		ResultsPerEnterTag: nonNil(m.PerEnterTag),
		DailyProfit:        nonNil(m.Daily),
		EquityCurve:        jsonCurve(res.Equity),
		BenchmarkCurve:     jsonCurve(res.Benchmark),
	}
	for i := range res.Trades {
		doc.Trades = append(doc.Trades, toJSONTrade(&res.Trades[i]))
	}
	return doc
}

func jsonCurve(pts []result.EquityPoint) []jsonEquity {
	out := make([]jsonEquity, 0, len(pts))
	for _, p := range pts {
		out = append(out, jsonEquity{Date: isoTime(p.Time), Timestamp: p.Time, Equity: p.Equity})
	}
	return out
}

func fromJSONCurve(pts []jsonEquity) []result.EquityPoint {
	out := make([]result.EquityPoint, 0, len(pts))
	for _, p := range pts {
		out = append(out, result.EquityPoint{Time: p.Timestamp, Equity: p.Equity})
	}
	return out
}

func toJSONTrade(t *trade.Trade) jsonTrade {
	jt := jsonTrade{
		Pair:               t.Pair,
		OpenDate:           isoTime(t.OpenTime),
		OpenTimestamp:      t.OpenTime,
		OpenRate:           t.OpenRate,
		CloseRate:          t.CloseRate,
		Amount:             t.Amount,
		StakeAmount:        t.Stake,
		ProfitRatio:        t.ProfitRatio,
		ProfitAbs:          t.ProfitAbs,
		ExitReason:         string(t.ExitReason),
		EnterTag:           t.EnterTag,
		IsOpen:             t.CloseTime == 0,
		IsShort:            t.IsShort,
		Leverage:           t.Leverage,
		FeeOpen:            t.FeeOpen,
		FeeClose:           t.FeeClose,
		InitialStopLossAbs: t.InitialStopLoss,
		StopLossAbs:        t.StopLoss,
		LiquidationPrice:   t.LiquidationPrice,
		MaxRate:            t.MaxRate,
		MinRate:            t.MinRate,
	}
	if jt.Leverage == 0 {
		jt.Leverage = 1
	}
	if t.CloseTime != 0 {
		cd, ct := isoTime(t.CloseTime), t.CloseTime
		jt.CloseDate, jt.CloseTimestamp = &cd, &ct
		jt.TradeDuration = t.DurationMinutes()
	}
	return jt
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// checkFinite walks v and returns an error naming the first float that is
// NaN or ±Inf, by its JSON path ("metrics.sharpe", "trades[2].profit_abs",
// "strategy.params.risk"). Map keys are visited in sorted order so the error
// is deterministic too.
func checkFinite(v reflect.Value) error {
	if path, f, bad := firstNonFinite(v); bad {
		return fmt.Errorf("report: %s is %v, which JSON cannot represent", strings.TrimPrefix(path, "."), f)
	}
	return nil
}

// firstNonFinite finds checkFinite's float in v and returns its path below v:
// ".name" for a field or map key, "[i]" for an element. The path is only
// built on the way back from a float found, so a walk over finite values
// allocates nothing.
func firstNonFinite(v reflect.Value) (string, float64, bool) {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return "", f, true
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return firstNonFinite(v.Elem())
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if rest, x, bad := firstNonFinite(v.Field(i)); bad {
				if name == "" {
					name = f.Name
				}
				return "." + name + rest, x, true
			}
		}
	case reflect.Slice, reflect.Array:
		if k := v.Type().Elem().Kind(); k == reflect.String || k == reflect.Bool || k >= reflect.Int && k <= reflect.Uintptr {
			return "", 0, false // nothing to check in the elements
		}
		for i := 0; i < v.Len(); i++ {
			if rest, x, bad := firstNonFinite(v.Index(i)); bad {
				return "[" + strconv.Itoa(i) + "]" + rest, x, true
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			if rest, x, bad := firstNonFinite(v.MapIndex(k)); bad {
				return "." + fmt.Sprint(k) + rest, x, true
			}
		}
	}
	return "", 0, false
}
