package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tradai/tradai/internal/clock"
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

// WriteJSON writes the files' backtest as one compact JSON object (no
// indentation or spaces, as Freqtrade writes its backtest results):
//
//	{
//	  "strategy": {name, timeframe, params, pairs, exchange, stake_currency,
//	               trading_mode, starting_balance, max_open_trades,
//	               backtest_start, backtest_end, ...},
//	  "trades": [...],            // Freqtrade's trade field names
//	  "metrics": {...},           // the metrics' Summary
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
// rather than null. The output is byte-identical for equal inputs.
//
// The metrics may still be being computed: it writes the strategy and the
// trades, most of a large export, and only then asks for them. JSON has no
// NaN or Infinity: a number that is not finite fails it, the error naming
// the field, e.g. "trades[3].profit_ratio". The strategy, the trades and
// the curves are checked before anything is written, the metrics when they
// come: one that is not finite fails it after the trades were written
// (through internal/atomicfile the file is then not replaced; into a
// buffer, drop it; metrics.Compute's are always finite).
func (f *Files) WriteJSON(w io.Writer) error {
	res := f.res
	if res == nil {
		return fmt.Errorf("report: nil backtest result")
	}
	doc := jsonExport{Strategy: jsonStrategyOf(res)}
	if err := checkResultFinite(&doc, res); err != nil {
		return err
	}
	return encodeJSON(w, res, f.trades, &doc, func() error {
		doc.setMetrics(f.metrics())
		return checkMetricsFinite(&doc)
	})
}

// trades writes the export's trade list to e. When an EarlyTrades made
// the text of the first of the result's trades as they closed, that text
// is written and the rest are made now (on every core); else all are.
func (f *Files) trades(e *jsonWriter) {
	ts := f.res.Trades
	s, done := f.spooled()
	if s == nil {
		e.tradeList(ts)
		return
	}
	e.raw("[")
	if e.flush(); e.err != nil {
		return
	}
	if e.err = s.writeTo(e.w); e.err != nil {
		return
	}
	e.pieces(ts[done:], true)
	e.raw("]")
}

// encodeJSON writes doc's strategy and, by trades, res's trade list, then,
// once fill has put the metrics' sections into doc (or failed), those and
// res's curves.
func encodeJSON(w io.Writer, res *result.Result, trades func(e *jsonWriter), doc *jsonExport, fill func() error) error {
	e := &jsonWriter{w: w, buf: make([]byte, 0, jsonChunk+4096)}
	e.raw("{\"strategy\":")
	e.value(doc.Strategy)
	e.raw(",\"trades\":")
	trades(e)
	if e.flush(); e.err != nil {
		return e.err
	}
	if err := fill(); err != nil {
		return err
	}
	e.section("metrics", doc.Metrics)
	sectionList(e, "results_per_pair", doc.ResultsPerPair)
	sectionList(e, "exit_reason_summary", doc.ExitReasonSummary)
	sectionList(e, "results_per_enter_tag", doc.ResultsPerEnterTag)
	sectionList(e, "daily_profit", doc.DailyProfit)
	e.raw(",\"equity_curve\":")
	e.list(len(res.Equity), func(i int) { e.equity(res.Equity[i]) })
	e.raw(",\"benchmark_curve\":")
	e.list(len(res.Benchmark), func(i int) { e.equity(res.Benchmark[i]) })
	e.raw("}\n")
	e.flush()
	return e.err
}

// jsonChunk is how much of the export jsonWriter gathers before writing it.
const jsonChunk = 64 << 10

// jsonWriter writes the export as an Encoder without HTML escaping would, in chunks: the trades and the curves,
// which make up nearly all of a large export, by hand-written appenders
// (the bytes encoding/json would write, TestWriteJSONStreamedAsEncoded),
// the other sections through encoding/json. The first error stops it.
type jsonWriter struct {
	w       io.Writer
	buf     []byte
	err     error
	compact bytes.Buffer
}

func (e *jsonWriter) raw(s string) { e.buf = append(e.buf, s...) }

// flush writes what was gathered.
func (e *jsonWriter) flush() {
	if e.err == nil && len(e.buf) > 0 {
		_, e.err = e.w.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

// value appends v encoded by encoding/json.
func (e *jsonWriter) value(v any) {
	if e.err != nil {
		return
	}
	e.compact.Reset()
	enc := json.NewEncoder(&e.compact)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		e.err = fmt.Errorf("report: encoding JSON: %w", err)
		return
	}
	e.buf = append(e.buf, bytes.TrimSuffix(e.compact.Bytes(), []byte{'\n'})...)
}

// section appends a top-level key and its value.
func (e *jsonWriter) section(name string, v any) {
	e.raw(",\"" + name + "\":")
	e.value(v)
}

// sectionList appends a top-level key and its list, element by element.
func sectionList[T any](e *jsonWriter, name string, s []T) {
	e.raw(",\"" + name + "\":")
	e.list(len(s), func(i int) { e.value(s[i]) })
}

// list appends a list of n elements, each by elem; [] when empty.
func (e *jsonWriter) list(n int, elem func(i int)) {
	if n == 0 {
		e.raw("[]")
		return
	}
	e.raw("[")
	for i := range n {
		if i > 0 {
			e.raw(",")
		}
		elem(i)
		if len(e.buf) >= jsonChunk {
			e.flush()
		}
	}
	e.raw("]")
}

// tradesPerPiece is how many trades tradeList encodes as one piece.
const tradesPerPiece = 256

// tradeList appends the list of trades ts.
func (e *jsonWriter) tradeList(ts []trade.Trade) {
	e.raw("[")
	e.pieces(ts, false)
	e.raw("]")
}

// pieces appends the trades ts of a list, a comma before each but the
// first (before it too when comma is set: ts follow other trades). It
// encodes pieces
// of tradesPerPiece trades on up to GOMAXPROCS goroutines and writes them
// in order as they are done, a few ahead at most: the encoding, most of a
// large export's work, on every core, without holding the whole list.
func (e *jsonWriter) pieces(ts []trade.Trade, comma bool) {
	if e.err != nil {
		return
	}
	pieces := (len(ts) + tradesPerPiece - 1) / tradesPerPiece
	encode := func(p *pieceBuf, k int) {
		piece := ts[k*tradesPerPiece : min((k+1)*tradesPerPiece, len(ts))]
		p.text = appendPiece(p.text, len(piece), func(i int) *trade.Trade { return &piece[i] }, comma || k > 0)
	}
	if pieces < 2 {
		if pieces == 1 {
			p := &pieceBuf{text: e.buf}
			encode(p, 0)
			e.buf = p.text
		}
		return
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), pieces))
	// The pieces in order, each delivered on its own channel; at most
	// ahead of them encoded or in the making. Buffers go round: a piece
	// written hands its buffer to a later one.
	ahead := 2 * workers
	order := make(chan chan *pieceBuf, ahead)
	free := make(chan *pieceBuf, ahead+1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	wg.Go(func() {
		defer close(order)
		sem := make(chan struct{}, workers)
		for k := range pieces {
			done := make(chan *pieceBuf, 1)
			select {
			case order <- done:
			case <-stop:
				return
			}
			sem <- struct{}{}
			var p *pieceBuf
			select {
			case p = <-free:
			default:
				p = &pieceBuf{text: make([]byte, 0, tradesPerPiece*1024)} // a trade takes 550-650 bytes
			}
			p.text = p.text[:0]
			wg.Go(func() {
				encode(p, k)
				done <- p
				<-sem
			})
		}
	})
	if e.flush(); e.err != nil {
		return
	}
	for done := range order {
		p := <-done
		if _, e.err = e.w.Write(p.text); e.err != nil {
			return // the deferred close stops the pieces not yet begun
		}
		select {
		case free <- p:
		default:
		}
	}
}

// pieceBuf is the memory pieces encodes a piece's text in, reused by
// later pieces.
type pieceBuf struct {
	text []byte
}

// appendPiece appends the n trades of a piece of a trade list, trade(i)
// the piece's trade i, as pieces writes them: a comma before each trade
// but the first, and before it too when comma is set.
func appendPiece(b []byte, n int, trade func(i int) *trade.Trade, comma bool) []byte {
	var texts tradeTexts
	for i := range n {
		if comma || i > 0 {
			b = append(b, ',')
		}
		b = texts.appendTrade(b, trade(i))
	}
	return b
}

// tradeFloats is how many float fields a trade has in the export.
const tradeFloats = 14

// tradeTexts remembers the texts of the float fields of the trade
// appended last, so that a number met again in the same field (the fees,
// the leverage, the liquidation price) or in the field before it (the
// closing fee, a stop-loss that did not move) is copied rather than
// formatted again: most of a trade's numbers but its rates and profits;
// and the date of the time appended last, which the next trade's times
// mostly share.
type tradeTexts struct {
	bits [tradeFloats]uint64
	n    [tradeFloats]uint8 // 0: none yet
	text [tradeFloats][32]byte

	day     int64 // days since 1970-01-01 of date
	date    [10]byte
	hasDate bool
}

// appendTime appends appendISOTime(ms).
func (c *tradeTexts) appendTime(b []byte, ms int64) []byte {
	day := clock.Day(ms)
	if !c.hasDate || day != c.day {
		t := appendISOTime(b, day*clock.DayMs)
		if len(t)-len(b) != len("2006-01-02T00:00:00Z") {
			return appendISOTime(b, ms) // a year outside 0-9999
		}
		c.day, c.hasDate = day, true
		copy(c.date[:], t[len(b):])
	}
	b = append(b, c.date[:]...)
	rest := ms - day*clock.DayMs
	h, mi, sec, frac := rest/3_600_000, rest/60_000%60, rest/1000%60, rest%1000
	b = append(b, 'T', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+sec/10), byte('0'+sec%10))
	return appendMillisZ(b, int(frac))
}

// appendField appends the float field k of a trade, named name, with
// value x, as appendJSONField.
func (c *tradeTexts) appendField(b []byte, k int, name string, x float64) []byte {
	b = append(b, ",\""...)
	b = append(b, name...)
	b = append(b, "\":"...)
	bits := math.Float64bits(x)
	if c.n[k] > 0 && c.bits[k] == bits {
		return append(b, c.text[k][:c.n[k]]...)
	}
	if j := k - 1; j >= 0 && c.n[j] > 0 && c.bits[j] == bits {
		c.bits[k], c.n[k], c.text[k] = bits, c.n[j], c.text[j]
		return append(b, c.text[k][:c.n[k]]...)
	}
	at := len(b)
	b = appendJSONFloat(b, x)
	if n := len(b) - at; n <= len(c.text[k]) {
		c.bits[k], c.n[k] = bits, uint8(n)
		copy(c.text[k][:], b[at:])
	}
	return b
}

// appendTrade appends t, trade i of the numbers' chunk, as its jsonTrade (see toJSONTrade) would be encoded.
func (c *tradeTexts) appendTrade(b []byte, t *trade.Trade) []byte {
	b = append(b, "{\"pair\":"...)
	b = appendJSONString(b, false, t.Pair)
	b = append(b, ",\"open_date\":\""...)
	b = c.appendTime(b, t.OpenTime)
	b = append(b, "\",\"close_date\":"...)
	if t.CloseTime != 0 {
		b = append(b, '"')
		b = c.appendTime(b, t.CloseTime)
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, ",\"open_timestamp\":"...)
	b = strconv.AppendInt(b, t.OpenTime, 10)
	b = append(b, ",\"close_timestamp\":"...)
	if t.CloseTime != 0 {
		b = strconv.AppendInt(b, t.CloseTime, 10)
	} else {
		b = append(b, "null"...)
	}
	b = c.appendField(b, 0, "open_rate", t.OpenRate)
	b = c.appendField(b, 1, "close_rate", t.CloseRate)
	b = c.appendField(b, 2, "amount", t.Amount)
	b = c.appendField(b, 3, "stake_amount", t.Stake)
	b = c.appendField(b, 4, "profit_ratio", t.ProfitRatio)
	b = c.appendField(b, 5, "profit_abs", t.ProfitAbs)
	b = append(b, ",\"exit_reason\":"...)
	b = appendJSONString(b, false, string(t.ExitReason))
	b = append(b, ",\"enter_tag\":"...)
	b = appendJSONString(b, false, t.EnterTag)
	b = append(b, ",\"is_open\":"...)
	b = strconv.AppendBool(b, t.CloseTime == 0)
	b = append(b, ",\"is_short\":"...)
	b = strconv.AppendBool(b, t.IsShort)
	lev := t.Leverage
	if lev == 0 {
		lev = 1
	}
	b = c.appendField(b, 6, "leverage", lev)
	b = c.appendField(b, 7, "fee_open", t.FeeOpen)
	b = c.appendField(b, 8, "fee_close", t.FeeClose)
	b = append(b, ",\"trade_duration\":"...)
	var dur int64
	if t.CloseTime != 0 {
		dur = t.DurationMinutes()
	}
	b = strconv.AppendInt(b, dur, 10)
	b = c.appendField(b, 9, "initial_stop_loss_abs", t.InitialStopLoss)
	b = c.appendField(b, 10, "stop_loss_abs", t.StopLoss)
	b = c.appendField(b, 11, "liquidation_price", t.LiquidationPrice)
	b = c.appendField(b, 12, "max_rate", t.MaxRate)
	b = c.appendField(b, 13, "min_rate", t.MinRate)
	return append(b, '}')
}

// equity appends p as its jsonEquity would be encoded.
func (e *jsonWriter) equity(p result.EquityPoint) {
	b := append(e.buf, "{\"date\":\""...)
	b = appendISOTime(b, p.Time)
	b = append(b, "\",\"timestamp\":"...)
	b = strconv.AppendInt(b, p.Time, 10)
	b = appendJSONField(b, "equity", p.Equity)
	e.buf = append(b, '}')
}

// appendJSONField appends a float field of an element at depth 2.
func appendJSONField(b []byte, name string, x float64) []byte {
	b = append(b, ",\""...)
	b = append(b, name...)
	b = append(b, "\":"...)
	return appendJSONFloat(b, x)
}

// appendJSONFloat appends a finite x as encoding/json writes a float64:
// the shortest form, in exponent form below 1e-6 and from 1e21 with at
// least one digit of exponent ("1e-7", not "1e-07").
func appendJSONFloat(b []byte, x float64) []byte {
	format := byte('f')
	if a := math.Abs(x); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, x, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONString appends s quoted as encoding/json writes a string,
// with its HTML escaping (<, > and & as \u003c, \u003e and \u0026, for
// JSON inside a script element) when html is set.
func appendJSONString(b []byte, html bool, s string) []byte {
	return append(appendJSONText(append(b, '"'), html, s), '"')
}

// appendJSONText appends s as appendJSONString does but for its quotes.
func appendJSONText(b []byte, html bool, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && !(html && (c == '<' || c == '>' || c == '&')) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// appendDateMinute appends dateMinute(ms).
func appendDateMinute(b []byte, ms int64) []byte {
	t := utc(ms)
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return append(b, dateMinute(ms)...)
	}
	h, mi, _ := t.Clock()
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10), ' ',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10))
}

// appendISOTime appends isoTime(ms).
func appendISOTime(b []byte, ms int64) []byte {
	t := utc(ms)
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return append(b, isoTime(ms)...)
	}
	h, mi, s := t.Clock()
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+s/10), byte('0'+s%10))
	return appendMillisZ(b, t.Nanosecond()/1e6)
}

// appendMillisZ appends a time's milliseconds as its text has them (none
// when zero, else without trailing zeros: .5, .25, .125) and the Z.
func appendMillisZ(b []byte, frac int) []byte {
	if frac != 0 {
		b = append(b, '.', byte('0'+frac/100))
		if frac%100 != 0 {
			b = append(b, byte('0'+frac/10%10))
			if frac%10 != 0 {
				b = append(b, byte('0'+frac%10))
			}
		}
	}
	return append(b, 'Z')
}

func jsonStrategyOf(res *result.Result) jsonStrategy {
	params := res.Params
	if params == nil {
		params = sdk.Values{}
	}
	return jsonStrategy{
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
	}
}

// setMetrics puts m's sections into the export.
func (doc *jsonExport) setMetrics(m metrics.Report) {
	doc.Metrics = m.Summary
	doc.ResultsPerPair = nonNil(m.PerPair)
	doc.ExitReasonSummary = nonNil(m.PerExitReason)
	doc.ResultsPerEnterTag = nonNil(m.PerEnterTag)
	doc.DailyProfit = nonNil(m.Daily)
}

// checkResultFinite is checkFinite over the export but for the metrics'
// sections, in its order: the strategy by reflection, the trades and the
// curves directly.
func checkResultFinite(doc *jsonExport, res *result.Result) error {
	if err := checkStrategyAndTrades(doc, res); err != nil {
		return err
	}
	return checkCurves(res)
}

func checkStrategyAndTrades(doc *jsonExport, res *result.Result) error {
	if err := checkFinite("strategy", reflect.ValueOf(doc.Strategy)); err != nil {
		return err
	}
	for i := range res.Trades {
		t := &res.Trades[i]
		for _, f := range [...]struct {
			name string
			x    float64
		}{
			{"open_rate", t.OpenRate}, {"close_rate", t.CloseRate}, {"amount", t.Amount}, {"stake_amount", t.Stake},
			{"profit_ratio", t.ProfitRatio}, {"profit_abs", t.ProfitAbs}, {"leverage", t.Leverage},
			{"fee_open", t.FeeOpen}, {"fee_close", t.FeeClose}, {"initial_stop_loss_abs", t.InitialStopLoss},
			{"stop_loss_abs", t.StopLoss}, {"liquidation_price", t.LiquidationPrice}, {"max_rate", t.MaxRate}, {"min_rate", t.MinRate},
		} {
			if !isFinite(f.x) {
				return nonFiniteError("trades["+strconv.Itoa(i)+"]."+f.name, f.x)
			}
		}
	}
	return nil
}

// checkMetricsFinite checks the metrics' sections of doc.
func checkMetricsFinite(doc *jsonExport) error {
	for _, s := range [...]struct {
		name string
		v    any
	}{
		{"metrics", doc.Metrics}, {"results_per_pair", doc.ResultsPerPair}, {"exit_reason_summary", doc.ExitReasonSummary},
		{"results_per_enter_tag", doc.ResultsPerEnterTag}, {"daily_profit", doc.DailyProfit},
	} {
		if err := checkFinite(s.name, reflect.ValueOf(s.v)); err != nil {
			return err
		}
	}
	return nil
}

func checkCurves(res *result.Result) error {
	for _, c := range [...]struct {
		name string
		pts  []result.EquityPoint
	}{{"equity_curve", res.Equity}, {"benchmark_curve", res.Benchmark}} {
		for i, p := range c.pts {
			if !isFinite(p.Equity) {
				return nonFiniteError(c.name+"["+strconv.Itoa(i)+"].equity", p.Equity)
			}
		}
	}
	return nil
}

func fromJSONCurve(pts []jsonEquity) []result.EquityPoint {
	out := make([]result.EquityPoint, 0, len(pts))
	for _, p := range pts {
		out = append(out, result.EquityPoint{Time: p.Timestamp, Equity: p.Equity})
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// checkFinite walks v, the export's section name, and returns an error
// naming the first float that is NaN or ±Inf by its JSON path
// ("metrics.sharpe", "strategy.params.risk"). Map keys are visited in
// sorted order so the error is deterministic too.
func checkFinite(name string, v reflect.Value) error {
	if path, f, bad := firstNonFinite(v); bad {
		return nonFiniteError(name+path, f)
	}
	return nil
}

func nonFiniteError(path string, f float64) error {
	return fmt.Errorf("report: %s is %v, which JSON cannot represent", path, f)
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
