package importer

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/sdk"
)

func TestBinanceZipMillisAndMicros(t *testing.T) {
	ms := genBinance(1440, "1m", jan2024, false, 3)
	us := genBinance(1440, "1m", jan2024, true, 3)
	if bytes.Equal(ms, us) || !bytes.HasPrefix(us, []byte("1704067200000000,")) {
		t.Fatal("generator does not write microseconds")
	}
	a, err := importBinance(makeZip(t, "BTCUSDT-1m-2024-01-01.csv", ms), "dl/BTCUSDT-1m-2024-01-01.zip", Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := importBinance(makeZip(t, "BTCUSDT-1m-2024-01-01.csv", us), "dl/BTCUSDT-1m-2024-01-01.zip", Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameFrame(t, a.Frame, b.Frame)
	if a.Frame.Pair != "BTC/USDT" || a.Frame.Timeframe != "1m" || a.Format != FormatBinance {
		t.Errorf("series %s %s %s", a.Frame.Pair, a.Frame.Timeframe, a.Format)
	}
	if a.Frame.Len() != 1440 || a.Rows != 1440 || len(a.Skipped) != 0 || a.Frame.Time[0] != jan2024 {
		t.Errorf("%d candles, %d rows, skipped %v", a.Frame.Len(), a.Rows, a.Skipped)
	}
}

func TestBinanceHeaderAndBareCSV(t *testing.T) {
	rows := genBinance(100, "5m", jan2024, false, 4)
	want, err := importBinance(rows, "ETHBTC-5m-2024-01-01.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want.Frame.Pair != "ETH/BTC" || want.Frame.Timeframe != "5m" {
		t.Fatalf("series %s %s", want.Frame.Pair, want.Frame.Timeframe)
	}
	header := "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\r\n"
	crlf := bytes.ReplaceAll(rows, []byte("\n"), []byte("\r\n"))
	for name, data := range map[string][]byte{
		"header":      append([]byte(header), rows...),
		"crlf":        crlf,
		"header zip":  makeZip(t, "x.csv", append([]byte(header), crlf...)),
		"no newline":  bytes.TrimSuffix(rows, []byte("\n")),
		"blank lines": append(bytes.Clone(rows), "\n\n"...),
	} {
		got, err := importBinance(data, "ETHBTC-5m-2024-01-01.csv", Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameFrame(t, got.Frame, want.Frame)
		if got.Rows != 100 || len(got.Skipped) != 0 {
			t.Errorf("%s: %d rows, skipped %v", name, got.Rows, got.Skipped)
		}
	}
}

func TestBinanceZipMembersInNameOrder(t *testing.T) {
	day := int64(86_400_000)
	d1 := genBinance(24, "1h", jan2024, false, 5)
	d2 := genBinance(24, "1h", jan2024+day, true, 6) // a newer, µs file
	z := makeZip(t, "BTCUSDT-1h-2024-01-02.csv", d2, "README.txt", []byte("x"), "BTCUSDT-1h-2024-01-01.csv", d1)
	res, err := importBinance(z, "klines.zip", Options{Pair: "BTC/USDT:USDT", Timeframe: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Frame
	if f.Len() != 48 || f.Time[24] != jan2024+day || f.Pair != "BTC/USDT:USDT" {
		t.Fatalf("%d candles, pair %s", f.Len(), f.Pair)
	}
}

func TestBinanceMonthly(t *testing.T) {
	var b strings.Builder
	months := []string{"2024-01-01", "2024-02-01", "2024-03-01"}
	for i, m := range months {
		open := day(m)
		next := sdk.Timeframe("1M").Next(open)
		fmt.Fprintf(&b, "%d,%d,110,90,100,5,%d,0,0,0,0,0\n", open, 100+i, next-1)
	}
	res, err := importBinance([]byte(b.String()), "BTCUSDT-1mo-2024-01.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Frame.Timeframe != "1M" || res.Frame.Len() != 3 {
		t.Fatalf("%s %d", res.Frame.Timeframe, res.Frame.Len())
	}
}

func TestBinancePartialLastCandle(t *testing.T) {
	rows := genBinance(10, "1h", jan2024, false, 7)
	last := bytes.LastIndexByte(rows[:len(rows)-1], '\n') + 1
	// The last candle (09:00) closed early, at 09:30.
	cut := bytes.Replace(bytes.Clone(rows[last:]), []byte(fmt.Sprint(jan2024+10*3_600_000-1)), []byte(fmt.Sprint(jan2024+9*3_600_000+1_800_000-1)), 1)
	data := append(bytes.Clone(rows[:last]), cut...)
	res, err := importBinance(data, "BTCUSDT-1h-2024-01-01.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Frame.Len() != 9 || res.Rows != 10 || res.SkippedRows() != 1 {
		t.Fatalf("%d candles, %d rows, skipped %+v", res.Frame.Len(), res.Rows, res.Skipped)
	}
	if s := res.Skipped[0]; !strings.Contains(s.Reason, "incomplete last candle") || s.First != "BTCUSDT-1h-2024-01-01.csv: row 10" {
		t.Errorf("skip %+v", s)
	}
	// Not the last row: an error at the incomplete candle.
	data = append(bytes.Clone(rows[:last]), cut...)
	data = append(data, genBinance(1, "1h", jan2024+10*3_600_000, false, 8)...)
	_, err = importBinance(data, "BTCUSDT-1h-2024-01-01.csv", Options{})
	wantRowError(t, err, "BTCUSDT-1h-2024-01-01.csv", 10, "close_time", "is before the end of the 1h candle", "only the last candle of a file may be incomplete")
}

func TestBinanceErrors(t *testing.T) {
	good := genBinance(5, "1m", jan2024, false, 9)
	lines := strings.SplitAfter(string(good), "\n")
	with := func(row int, line string) []byte { // replace data row row (1-based)
		l := append([]string(nil), lines...)
		l[row-1] = line
		return []byte(strings.Join(l, ""))
	}
	field := func(row, col int, v string) []byte {
		f := strings.Split(strings.TrimSuffix(lines[row-1], "\n"), ",")
		f[col-1] = v
		return with(row, strings.Join(f, ",")+"\n")
	}
	const name = "BTCUSDT-1m-2024-01.zip"
	const member = "BTCUSDT-1m-2024-01.csv"
	const file = name + ":" + member
	for _, c := range []struct {
		what  string
		data  []byte
		row   int
		col   string
		parts []string
	}{
		{"bad open", field(3, 2, "4x"), 3, "open", []string{file + `: row 3: column 2 (open): "4x" is not a number`}},
		{"empty close", field(2, 5, ""), 2, "close", []string{"row 2: column 5 (close): is empty"}},
		{"bad time", field(1, 1, "2024-01-01"), 1, "open_time", []string{`row 1: column 1 (open_time): "2024-01-01" is not a whole number`}},
		{"bad close time", field(4, 7, "1.5"), 4, "close_time", []string{`row 4: column 7 (close_time): "1.5" is not a whole number`}},
		{"columns", with(2, "1704067260000,1,2,0.5,1.5,10\n"), 2, "", []string{"row 2: row has 6 columns but a Binance kline row has 12"}},
		{"out of order", with(3, lines[0]), 3, "open_time", []string{"row 3: open_time 2024-01-01T00:00:00Z is before the previous row's 2024-01-01T00:01:00Z"}},
		{"duplicate", with(3, lines[1]), 3, "open_time", []string{"row 3: duplicate open_time 2024-01-01T00:01:00Z"}},
		{"off grid", field(5, 1, fmt.Sprint(jan2024+4*60_000+30_000)), 5, "open_time", []string{"row 5: open_time 2024-01-01T00:04:30Z is not the start of a 1m candle"}},
		{"sub-ms micros", field(2, 1, fmt.Sprint((jan2024+60_000)*1000+1)), 2, "open_time", []string{"is not a whole millisecond"}},
		{"wrong interval", []byte(strings.ReplaceAll(string(genBinance(3, "1h", jan2024, false, 1)), "\n", "\n")), 1, "close_time", []string{"does not fit a 1m candle", "is the interval 1m right?"}},
		{"high below low", field(2, 3, "1"), 2, "high", []string{"row 2: high 1 is below low"}},
		{"negative volume", field(2, 6, "-1"), 2, "volume", []string{"row 2: volume -1 is negative"}},
		{"header only", []byte("open_time,open,high,low,close,volume,close_time,a,b,c,d,e\n"), 0, "", []string{file + ": no candles"}},
	} {
		t.Run(c.what, func(t *testing.T) {
			_, err := importBinance(makeZip(t, member, c.data), name, Options{})
			wantRowError(t, err, file, c.row, c.col, c.parts...)
		})
	}
}

func TestBinanceMixedTimeframes(t *testing.T) {
	// A 1h file with a 5m candle in it: the 5m row is off the hour grid; a
	// row one hour-candle too early (the spacing check) comes after a gap.
	rows := genBinance(3, "1h", jan2024, false, 2)
	extra := genBinance(1, "5m", jan2024+2*3_600_000+5*60_000, false, 2)
	_, err := importBinance(append(bytes.Clone(rows), extra...), "BTCUSDT-1h-2024-01-01.csv", Options{})
	wantRowError(t, err, "BTCUSDT-1h-2024-01-01.csv", 4, "open_time", "2024-01-01T02:05:00Z is only 5m0s after the previous row's 2024-01-01T02:00:00Z but the timeframe is 1h: the file mixes timeframes")
}

func TestBinanceBrokenFiles(t *testing.T) {
	z := makeZip(t, "BTCUSDT-1m-2024-01.csv", genBinance(5000, "1m", jan2024, false, 1))
	for _, c := range []struct {
		what  string
		data  []byte
		file  string
		parts []string
		is    error
	}{
		{"truncated zip", z[:len(z)/2], "BTCUSDT-1m-2024-01.zip", []string{"not a readable zip archive (truncated or damaged download?)"}, datafile.ErrCorrupt},
		{"empty file", nil, "BTCUSDT-1m-2024-01.zip", []string{"empty file"}, datafile.ErrEmpty},
		{"no csv member", makeZip(t, "a.txt", []byte("x")), "BTCUSDT-1m-2024-01.zip", []string{"holds no .csv file"}, datafile.ErrEmpty},
		{"empty member", makeZip(t, "BTCUSDT-1m-2024-01.csv", []byte{}), "BTCUSDT-1m-2024-01.zip:BTCUSDT-1m-2024-01.csv", []string{"no candles"}, datafile.ErrEmpty},
		{"damaged member", damage(z), "BTCUSDT-1m-2024-01.zip:BTCUSDT-1m-2024-01.csv", []string{"cannot read (truncated or damaged file?)"}, datafile.ErrCorrupt},
	} {
		t.Run(c.what, func(t *testing.T) {
			_, err := importBinance(c.data, "BTCUSDT-1m-2024-01.zip", Options{})
			wantRowError(t, err, c.file, 0, "", c.parts...)
			if !errors.Is(err, c.is) {
				t.Errorf("%v is not %v", err, c.is)
			}
		})
	}
}

// damage flips bytes in the middle of a zip's compressed data.
func damage(z []byte) []byte {
	d := bytes.Clone(z)
	for i := len(d) / 3; i < len(d)/3+64; i++ {
		d[i] ^= 0x55
	}
	return d
}

func TestBinanceNeedsSeries(t *testing.T) {
	_, err := importBinance(genBinance(2, "1m", jan2024, false, 1), "klines.csv", Options{})
	wantRowError(t, err, "klines.csv", 0, "", "give the timeframe", "not a Binance kline file name")
	_, err = importBinance(genBinance(2, "1m", jan2024, false, 1), "klines.csv", Options{Timeframe: "1m"})
	wantRowError(t, err, "klines.csv", 0, "", "give the pair")
	_, err = importBinance(genBinance(2, "1m", jan2024, false, 1), "XYZABC-1m-2024-01.csv", Options{})
	wantRowError(t, err, "XYZABC-1m-2024-01.csv", 0, "", `cannot tell the base and quote asset of Binance symbol "XYZABC"`)
	res, err := importBinance(genBinance(2, "1m", jan2024, false, 1), "XYZABC-1m-2024-01.csv", Options{Pair: "XYZ/ABC"})
	if err != nil || res.Frame.Pair != "XYZ/ABC" {
		t.Fatal(err)
	}
}

func TestParseBinanceName(t *testing.T) {
	for _, c := range []struct {
		name, sym string
		tf        sdk.Timeframe
	}{
		{"BTCUSDT-1m-2024-01.zip", "BTCUSDT", "1m"},
		{"/data/spot/ETHBTC-1h-2024-01-15.zip", "ETHBTC", "1h"},
		{"BNBUSDT-1mo-2023-12.csv", "BNBUSDT", "1M"},
		{"BTCUSD_PERP-1w-2024-01.zip", "BTCUSD_PERP", "1w"},
		{"SOLUSDT-12h-2024-01-02.CSV", "SOLUSDT", "12h"},
	} {
		sym, tf, err := ParseBinanceName(c.name)
		if err != nil || sym != c.sym || tf != c.tf {
			t.Errorf("%s: %q %q %v", c.name, sym, tf, err)
		}
	}
	for _, bad := range []string{"BTCUSDT.zip", "BTCUSDT-1m.zip", "BTCUSDT-2m-2024-01.zip", "BTCUSDT-1m-24-01.zip", "BTCUSDT-1m-2024-01-15-x.zip", "BTCUSDT-trades-2024-01.zip", "btcusdt-1m-2024-01.zip"} {
		if _, _, err := ParseBinanceName(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestGridMatchesTimeframe checks the fast grid against sdk.Timeframe.
func TestGridMatchesTimeframe(t *testing.T) {
	for _, tf := range sdk.Timeframes() {
		g := newGrid(tf)
		for _, start := range []int64{jan2024, -86_400_000 * 400, 0, 1_234_567_890_123} {
			for k := int64(-5); k < 60; k++ {
				ms := start + k*37*60_000
				if g.onGrid(ms) != tf.OnGrid(ms) {
					t.Fatalf("%s %d: onGrid %v", tf, ms, g.onGrid(ms))
				}
				if fl := tf.Floor(ms); g.next(fl) != tf.Next(fl) {
					t.Fatalf("%s %d: next %d want %d", tf, fl, g.next(fl), tf.Next(fl))
				}
			}
		}
	}
}
