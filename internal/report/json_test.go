package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
)

func writeJSON(t *testing.T, res *result.Result, m metrics.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := NewFiles(res, known(m), nil).WriteJSON(&buf); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	return buf.Bytes()
}

// topLevelKeys is the keys of the JSON object out, in order.
func topLevelKeys(t *testing.T, out []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(out))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestWriteJSONTopLevelAndOrder(t *testing.T) {
	res, m := smallFixture()
	out := writeJSON(t, res, m)
	if !json.Valid(out) {
		t.Fatal("output is not valid JSON")
	}
	// Key order is fixed by the structs.
	want := []string{"strategy", "trades", "metrics", "results_per_pair", "exit_reason_summary",
		"results_per_enter_tag", "daily_profit", "equity_curve", "benchmark_curve"}
	if got := topLevelKeys(t, out); !slices.Equal(got, want) {
		t.Errorf("top-level keys %q, want %q", got, want)
	}
	// Compact, as Freqtrade writes its results: no indentation, no spaces.
	if !bytes.HasPrefix(out, []byte(`{"strategy":{"name":`)) || bytes.Count(out, []byte("\n")) != 1 || !bytes.HasSuffix(out, []byte("}\n")) {
		t.Errorf("not compact on one line:\n%.80s", out)
	}

	var doc struct {
		Strategy map[string]any   `json:"strategy"`
		Metrics  map[string]any   `json:"metrics"`
		PerPair  []map[string]any `json:"results_per_pair"`
		Daily    []map[string]any `json:"daily_profit"`
		Equity   []map[string]any `json:"equity_curve"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	st := doc.Strategy
	for k, want := range map[string]any{
		"name": "SampleStrategy", "timeframe": "5m", "exchange": "binance", "stake_currency": "USDT",
		"trading_mode": "spot", "starting_balance": 1000.0, "max_open_trades": 2.0,
		"backtest_start": "2024-01-01T00:00:00Z", "backtest_end": "2024-01-10T23:55:00Z",
	} {
		if st[k] != want {
			t.Errorf("strategy.%s = %v, want %v", k, st[k], want)
		}
	}
	if p, _ := st["params"].(map[string]any); p["buy_rsi"] != 30.0 || p["mode"] != "fast" {
		t.Errorf("strategy.params = %v", st["params"])
	}
	if pairs, _ := st["pairs"].([]any); len(pairs) != 2 || pairs[0] != "BTC/USDT" {
		t.Errorf("strategy.pairs = %v", st["pairs"])
	}
	if doc.Metrics["total_trades"] != 5.0 || doc.Metrics["starting_balance"] != 1000.0 {
		t.Errorf("metrics = %v", doc.Metrics)
	}
	if n := len(doc.PerPair); n != 3 || doc.PerPair[n-1]["key"] != "TOTAL" {
		t.Errorf("results_per_pair = %v", doc.PerPair)
	}
	if len(doc.Daily) != 10 || doc.Daily[0]["date"] != "2024-01-01" {
		t.Errorf("daily_profit = %v", doc.Daily)
	}
	if len(doc.Equity) != 10 {
		t.Fatalf("equity_curve has %d points", len(doc.Equity))
	}
	e := doc.Equity[0]
	if e["date"] != "2024-01-02T00:00:00Z" || e["timestamp"] != float64(ms("2024-01-02 00:00")) || e["equity"] != 1000.0 {
		t.Errorf("equity_curve[0] = %v", e)
	}
}

func TestWriteJSONTradeFields(t *testing.T) {
	res, m := smallFixture()
	res.Trades[1].IsShort = true
	res.Trades[1].Leverage = 3
	out := writeJSON(t, res, m)
	var doc struct {
		Trades []map[string]any `json:"trades"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Trades) != 5 {
		t.Fatalf("%d trades", len(doc.Trades))
	}
	want := []string{"pair", "open_date", "close_date", "open_timestamp", "close_timestamp", "open_rate", "close_rate",
		"amount", "stake_amount", "profit_ratio", "profit_abs", "exit_reason", "enter_tag", "is_short", "leverage",
		"fee_open", "fee_close", "trade_duration", "initial_stop_loss_abs", "stop_loss_abs", "max_rate", "min_rate"}
	tr := doc.Trades[0]
	for _, k := range want {
		if _, ok := tr[k]; !ok {
			t.Errorf("trade field %q missing", k)
		}
	}
	src := res.Trades[0]
	checks := map[string]any{
		"pair":                  "BTC/USDT",
		"open_date":             "2024-01-02T07:25:00Z",
		"close_date":            "2024-01-02T08:30:00Z",
		"open_timestamp":        float64(ms("2024-01-02 07:25")),
		"close_timestamp":       float64(ms("2024-01-02 08:30")),
		"open_rate":             42000.0,
		"close_rate":            42500.0,
		"amount":                src.Amount,
		"stake_amount":          100.0,
		"profit_ratio":          src.ProfitRatio,
		"profit_abs":            src.ProfitAbs,
		"exit_reason":           "roi",
		"enter_tag":             "rsi",
		"is_short":              false,
		"leverage":              1.0,
		"fee_open":              0.001,
		"fee_close":             0.001,
		"trade_duration":        65.0,
		"initial_stop_loss_abs": src.InitialStopLoss,
		"stop_loss_abs":         src.StopLoss,
		"max_rate":              src.MaxRate,
		"min_rate":              src.MinRate,
	}
	for k, v := range checks {
		if tr[k] != v {
			t.Errorf("trades[0].%s = %#v, want %#v", k, tr[k], v)
		}
	}
	for _, k := range []string{"open_date", "close_date"} {
		if _, err := time.Parse(time.RFC3339, tr[k].(string)); err != nil {
			t.Errorf("%s is not ISO 8601: %v", k, err)
		}
	}
	t1 := doc.Trades[1]
	if t1["is_short"] != true || t1["leverage"] != 3.0 || t1["trade_duration"] != 3070.0 || t1["enter_tag"] != "" {
		t.Errorf("trades[1] = %v", t1)
	}
	// trade_duration is an integer in the text, not 65.0.
	if !bytes.Contains(out, []byte(`"trade_duration":65,`)) {
		t.Error(`want "trade_duration":65 as an integer`)
	}
}

func TestWriteJSONOpenTrade(t *testing.T) {
	res, m := smallFixture()
	res.Trades[4].CloseTime, res.Trades[4].CloseRate, res.Trades[4].ExitReason = 0, 0, ""
	out := writeJSON(t, res, m)
	var doc struct {
		Trades []map[string]any `json:"trades"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	tr := doc.Trades[4]
	if tr["close_date"] != nil || tr["close_timestamp"] != nil || tr["is_open"] != true || tr["trade_duration"] != 0.0 {
		t.Errorf("open trade = %v", tr)
	}
}

func TestWriteJSONDeterministic(t *testing.T) {
	res, m := largeFixture()
	a := writeJSON(t, res, m)
	for i := 0; i < 5; i++ {
		res2, m2 := largeFixture()
		if b := writeJSON(t, res2, m2); !bytes.Equal(a, b) {
			t.Fatal("two writes of equal inputs differ")
		}
	}
}

// A number that is not finite fails the export, the error naming it: one
// of the result's before anything is written, one of the metrics when
// they come, after the strategy and the trades.
func TestWriteJSONRejectsNonFinite(t *testing.T) {
	cases := []struct {
		name   string
		spoil  func(*result.Result, *metrics.Report)
		field  string
		metric bool
	}{
		{"metric", func(_ *result.Result, m *metrics.Report) { m.Summary.Sharpe = math.NaN() }, "metrics.sharpe", true},
		{"profit factor", func(_ *result.Result, m *metrics.Report) { m.Summary.ProfitFactor = math.Inf(1) }, "metrics.profit_factor", true},
		{"trade", func(r *result.Result, _ *metrics.Report) { r.Trades[3].ProfitRatio = math.Inf(-1) }, "trades[3].profit_ratio", false},
		{"group", func(_ *result.Result, m *metrics.Report) { m.PerPair[1].Winrate = math.NaN() }, "results_per_pair[1].winrate", true},
		{"equity", func(r *result.Result, _ *metrics.Report) { r.Equity[2].Equity = math.NaN() }, "equity_curve[2].equity", false},
		{"param", func(r *result.Result, _ *metrics.Report) { r.Params["sell_rsi"] = math.NaN() }, "strategy.params.sell_rsi", false},
		{"day", func(_ *result.Result, m *metrics.Report) { m.Daily[0].Return = math.NaN() }, "daily_profit[0].return", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, m := smallFixture()
			c.spoil(res, &m)
			var buf bytes.Buffer
			err := NewFiles(res, known(m), nil).WriteJSON(&buf)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("error %q does not name %s", err, c.field)
			}
			if c.metric {
				if out := buf.String(); !strings.HasPrefix(out, `{"strategy":`) || strings.Contains(out, `"metrics"`) {
					t.Errorf("wrote %.60q..., want the strategy and the trades only", out)
				}
			} else if buf.Len() != 0 {
				t.Error("partial output written")
			}
		})
	}
}

func TestWriteJSONEmpty(t *testing.T) {
	out := writeJSON(t, &result.Result{}, metrics.Report{})
	for _, k := range []string{`"trades":[]`, `"results_per_pair":[]`, `"exit_reason_summary":[]`,
		`"results_per_enter_tag":[]`, `"daily_profit":[]`, `"equity_curve":[]`, `"benchmark_curve":[]`, `"params":{}`, `"pairs":[]`} {
		if !bytes.Contains(out, []byte(k)) {
			t.Errorf("empty export lacks %s", k)
		}
	}
	if bytes.Contains(out, []byte("null")) {
		t.Errorf("empty export contains null:\n%s", out)
	}
	res, m := emptyFixture()
	writeJSON(t, res, m)
}

func TestWriteJSONNilResult(t *testing.T) {
	if err := NewFiles(nil, known(metrics.Report{}), nil).WriteJSON(&bytes.Buffer{}); err == nil {
		t.Error("nil result accepted")
	}
}

// The export is written list by list; the bytes are those of the whole
// document encoded at once, compact and without HTML
// escaping, for empty and full lists and strings JSON escapes.
func TestWriteJSONStreamedAsEncoded(t *testing.T) {
	for name, fixture := range map[string]func() (*result.Result, metrics.Report){
		"small": smallFixture, "large": largeFixture, "empty": emptyFixture, "many": manyTradesFixture,
	} {
		t.Run(name, func(t *testing.T) {
			res, m := fixture()
			for i := range res.Trades {
				res.Trades[i].EnterTag = "a<b>&\"c\"\u2028\\"
			}
			want := encodedExport(t, res, m)
			if got := writeJSON(t, res, m); !bytes.Equal(got, want) {
				t.Fatalf("streamed export differs from the encoded document:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// exportDoc is the whole export as the jsonExport document that
// ReadJSON reads, for encoding/json to write as the reference of
// Files.WriteJSON's bytes.
func exportDoc(res *result.Result, m metrics.Report) jsonExport {
	doc := jsonExport{Strategy: jsonStrategyOf(res)}
	doc.setMetrics(m)
	doc.Trades = make([]jsonTrade, 0, len(res.Trades))
	for i := range res.Trades {
		doc.Trades = append(doc.Trades, toJSONTrade(&res.Trades[i]))
	}
	doc.EquityCurve, doc.BenchmarkCurve = jsonCurve(res.Equity), jsonCurve(res.Benchmark)
	return doc
}

// encodedExport is what encoding/json writes of exportDoc(res, m),
// without HTML escaping: the bytes Files.WriteJSON must write.
func encodedExport(t *testing.T, res *result.Result, m metrics.Report) []byte {
	t.Helper()
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(exportDoc(res, m)); err != nil {
		t.Fatal(err)
	}
	return want.Bytes()
}

func jsonCurve(pts []result.EquityPoint) []jsonEquity {
	out := make([]jsonEquity, 0, len(pts))
	for _, p := range pts {
		out = append(out, jsonEquity{Date: isoTime(p.Time), Timestamp: p.Time, Equity: p.Equity})
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

// FuzzJSONAppenders: the hand-written appenders write the bytes
// encoding/json writes for any string, float and time (and isoTime's).
func FuzzJSONAppenders(f *testing.F) {
	f.Add("BTC/USDT", 0.1, int64(1_515_568_500_000))
	f.Add("a<b>&\"c\"\u2028\\\x00\x7f\b\f\xff", 1e-7, int64(-1))
	f.Add("é\u2029\t\r\n", 1e21, int64(253_402_300_800_000))
	f.Add("", math.Copysign(0, -1), int64(1_515_568_500_120))
	f.Fuzz(func(t *testing.T, s string, x float64, ms int64) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, true, s); !bytes.Equal(got, want) {
			t.Errorf("string %q for HTML: got %s, want %s", s, got, want)
		}
		want = bytes.ReplaceAll(bytes.ReplaceAll(bytes.ReplaceAll(want, []byte(`\u003c`), []byte("<")), []byte(`\u003e`), []byte(">")), []byte(`\u0026`), []byte("&"))
		if got := appendJSONString(nil, false, s); !bytes.Equal(got, want) {
			t.Errorf("string %q: got %s, want %s", s, got, want)
		}
		if isFinite(x) {
			want, err := json.Marshal(x)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendJSONFloat(nil, x); !bytes.Equal(got, want) {
				t.Errorf("float %v: got %s, want %s", x, got, want)
			}
		}
		if got := appendISOTime(nil, ms); string(got) != isoTime(ms) {
			t.Errorf("time %d: got %s, want %s", ms, got, isoTime(ms))
		}
		// A trade's times after others: on their day, the next, or far.
		var c tradeTexts
		for _, at := range []int64{ms, ms + 1, ms + 61_001, ms + clock.DayMs, ms ^ 0x5a5a5a, ms} {
			if got := c.appendTime([]byte("x"), at); string(got) != "x"+isoTime(at) {
				t.Errorf("time %d after others: got %s, want %s", at, got[1:], isoTime(at))
			}
		}
	})
}

// failingWriter takes n bytes, then fails every write.
type failingWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

// A write that fails in the middle of the trades (encoded in pieces on
// several goroutines) ends the export with that error, whichever piece
// it falls in.
func TestWriteJSONWriteFails(t *testing.T) {
	res, m := manyTradesFixture()
	for _, after := range []int{0, 100, 1 << 20, 7 << 20} {
		if err := NewFiles(res, known(m), nil).WriteJSON(&failingWriter{n: after}); !errors.Is(err, errDiskFull) {
			t.Errorf("failing after %d bytes: %v, want %v", after, err, errDiskFull)
		}
	}
}

// A trade's numbers met again, in another field or the trade before
// (fees, leverage, a stop-loss that did not move, ±0), are written as
// encoding/json writes them, and so are those that change.
func TestWriteJSONRepeatedNumbers(t *testing.T) {
	res, m := smallFixture()
	base := res.Trades[0]
	res.Trades = nil
	negZero := math.Copysign(0, -1)
	for i, x := range []float64{0.001, 0.001, negZero, 0, 1, 1e-7, 1e-7, 2.5, 0.001, negZero, 1e21, 1e21} {
		tr := base
		tr.FeeOpen, tr.FeeClose = x, 0.001
		tr.InitialStopLoss, tr.StopLoss = x, x
		tr.LiquidationPrice = float64(i % 2)
		tr.Leverage = float64(1 + i%3)
		tr.MinRate, tr.MaxRate = x, tr.OpenRate
		res.Trades = append(res.Trades, tr)
	}
	for range 300 { // more than one piece of trades
		res.Trades = append(res.Trades, res.Trades[:12]...)
	}
	if got := writeJSON(t, res, m); !bytes.Equal(got, encodedExport(t, res, m)) {
		t.Fatal("the export differs from the encoded document")
	}
}
