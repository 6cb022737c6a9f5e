package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/sdk"
)

func TestParseMapping(t *testing.T) {
	m, err := ParseMapping("time=Timestamp, open=Open,high=High,low=Low,close=Close,volume=Vol")
	if err != nil {
		t.Fatal(err)
	}
	want := Mapping{Time: "Timestamp", Open: "Open", High: "High", Low: "Low", Close: "Close", Volume: "Vol"}
	if m != want {
		t.Fatalf("%+v", m)
	}
	if m, err := ParseMapping("date=1,open=2,high=3,low=4,close=5"); err != nil || m.Time != "1" || m.Volume != "" {
		t.Fatalf("%+v %v", m, err)
	}
	for s, msg := range map[string]string{
		"time=a,open=b,high=c,low=d":             "no column for close",
		"time=a,open=b,high=c,low=d,close=e,x=1": `unknown role "x"`,
		"time=a,open=b,high=c,low=d,close":       `"close" is not role=column`,
		"time=a,time=b":                          "time is given twice",
	} {
		if _, err := ParseMapping(s); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", s, err, msg)
		}
	}
}

func TestCSVFormats(t *testing.T) {
	m := Mapping{Time: "Timestamp", Open: "Open", High: "High", Low: "Low", Close: "Close", Volume: "Vol"}
	opt := Options{Pair: "EUR/USD", Timeframe: "1h"}
	t0 := int64(1_704_067_200_000)
	for _, c := range []struct {
		name string
		m    func(Mapping) Mapping
		in   string
	}{
		{"iso", nil, "Timestamp,Open,High,Low,Close,Vol\n2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n2024-01-01 01:00,1,2,0.5,1.5,10\n"},
		{"offset", nil, "Timestamp,Open,High,Low,Close,Vol\n2024-01-01T02:00:00+02:00,1,2,0.5,1.5,10\n2024-01-01T01:00:00Z,1,2,0.5,1.5,10\n"},
		{"auto seconds", nil, "Timestamp,Open,High,Low,Close,Vol\n1704067200,1,2,0.5,1.5,10\n1704070800,1,2,0.5,1.5,10\n"},
		{"auto ms", nil, "timestamp,open,high,low,close,vol\n1704067200000,1,2,0.5,1.5,10\n1704070800000,1,2,0.5,1.5,10\n"},
		{"auto us", nil, "Timestamp,Open,High,Low,Close,Vol\n1704067200000000,1,2,0.5,1.5,10\n1704070800000000,1,2,0.5,1.5,10\n"},
		{"auto ns", nil, "Timestamp,Open,High,Low,Close,Vol\n1704067200000000000,1,2,0.5,1.5,10\n1704070800000000000,1,2,0.5,1.5,10\n"},
		{"unit s", func(m Mapping) Mapping { m.TimeFormat = "s"; return m }, "Timestamp,Open,High,Low,Close,Vol\n1704067200.0,1,2,0.5,1.5,10\n1704070800,1,2,0.5,1.5,10\n"},
		{"layout", func(m Mapping) Mapping { m.TimeFormat = "02.01.2006 15:04"; m.Delimiter = ';'; return m },
			"Timestamp;Open;High;Low;Close;Vol\n01.01.2024 00:00;1;2;0.5;1.5;10\n01.01.2024 01:00;1;2;0.5;1.5;10\n"},
		{"quoted tab", func(m Mapping) Mapping { m.Delimiter = '\t'; return m },
			"\ufeff\"Timestamp\"\tOpen\tHigh\tLow\tClose\tVol\tNote\n\"2024-01-01 00:00:00\"\t1\t2\t0.5\t1.5\t10\t\"a \"\"b\"\"\"\n\n2024-01-01 01:00:00\t 1 \t2\t0.5\t1.5\t10\tx\n\n"},
		{"no header by number", func(Mapping) Mapping {
			return Mapping{Time: "2", Open: "3", High: "4", Low: "5", Close: "6", Volume: "1", NoHeader: true}
		}, "10,1704067200000,1,2,0.5,1.5\r\n10,1704070800000,1,2,0.5,1.5\r\n"},
		{"header by number", func(Mapping) Mapping {
			return Mapping{Time: "1", Open: "Open", High: "3", Low: "4", Close: "5", Volume: "6"}
		}, "t,Open,h,l,c,v\n1704067200000,1,2,0.5,1.5,10\n1704070800000,1,2,0.5,1.5,10\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			mm := m
			if c.m != nil {
				mm = c.m(m)
			}
			res, err := CSV(strings.NewReader(c.in), "x.csv", mm, opt)
			if err != nil {
				t.Fatal(err)
			}
			f := res.Frame
			if f.Len() != 2 || f.Time[0] != t0 || f.Time[1] != t0+3_600_000 || f.Close[1] != 1.5 || f.Pair != "EUR/USD" || f.Timeframe != "1h" || res.Format != FormatCSV {
				t.Fatalf("%+v", f)
			}
			if c.name != "no header by number" && f.Volume[0] != 10 {
				t.Errorf("volume %v", f.Volume[0])
			}
			if c.name == "quoted tab" && (res.Rows != 3 || res.SkippedRows() != 1 || res.Skipped[0].First != "x.csv: row 2") {
				t.Errorf("rows %d skipped %+v", res.Rows, res.Skipped)
			}
		})
	}
}

// TestCSVIndicative checks that indicative series keep their own rules:
// funding rates of any sign, mark prices outside [low, high].
func TestCSVIndicative(t *testing.T) {
	m := Mapping{Time: "t", Open: "o", High: "h", Low: "l", Close: "c", Volume: "v"}
	for _, c := range []struct {
		kind datafile.Kind
		row  string
	}{{datafile.Indicative, "2024-01-01,-0.0001,0,-0.0002,0.0003,0\n"}, {datafile.IndicativePrices, "2024-01-01,3,2,1,0.5,0\n"}} {
		res, err := CSV(strings.NewReader("t,o,h,l,c,v\n"+c.row), "x.csv", m, Options{Timeframe: "1d", Kind: c.kind})
		if err != nil || res.Frame.Len() != 1 || res.Frame.Volume[0] != 0 {
			t.Fatalf("%v: %v", c.kind, err)
		}
	}
}

func TestCSVNoVolume(t *testing.T) {
	res, err := CSV(strings.NewReader("d,o,h,l,c\n2024-01-01,1,2,0.5,1.5\n"), "x.csv", Mapping{Time: "d", Open: "o", High: "h", Low: "l", Close: "c"}, Options{Timeframe: "1d"})
	if err != nil || res.Frame.Volume[0] != 0 {
		t.Fatal(err)
	}
}

func TestCSVErrors(t *testing.T) {
	m := Mapping{Time: "time", Open: "open", High: "high", Low: "low", Close: "close", Volume: "volume"}
	const h = "time,open,high,low,close,volume\n"
	const r1 = "2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n"
	for _, c := range []struct {
		name string
		m    Mapping
		opt  Options
		in   string
		row  int
		col  string
		msg  string
	}{
		{"no timeframe", m, Options{}, h + r1, 0, "", "give the timeframe"},
		{"bad timeframe", m, Options{Timeframe: "2d"}, h + r1, 0, "", `unknown timeframe "2d"`},
		{"missing column", Mapping{Time: "time", Open: "open", High: "high", Low: "low", Close: "Last"}, Options{Timeframe: "1h"}, h + r1, 0, "Last", `no close column "Last" in the header (found time,open,high,low,close,volume)`},
		{"names without header", Mapping{Time: "time", Open: "2", High: "3", Low: "4", Close: "5", NoHeader: true}, Options{Timeframe: "1h"}, r1, 0, "time", "without a header line, columns are given by number"},
		{"bad time format", Mapping{Time: "time", Open: "open", High: "high", Low: "low", Close: "close", TimeFormat: "yyyy-mm-dd"}, Options{Timeframe: "1h"}, h + r1, 0, "", `time format "yyyy-mm-dd" is neither`},
		{"bad time", m, Options{Timeframe: "1h"}, h + r1 + "yesterday,1,2,0.5,1.5,10\n", 2, "time", `x.csv: row 2: column 1 (time): "yesterday" is neither a Unix timestamp nor an ISO 8601 date-time`},
		{"bad number", m, Options{Timeframe: "1h"}, h + r1 + "2024-01-01T01:00:00Z,1,2,0,5,1.5,10\n", 2, "", "row 2: row has 7 fields but the header has 6"},
		{"bad low", m, Options{Timeframe: "1h"}, h + r1 + "2024-01-01T01:00:00Z,1,2,n/a,1.5,10\n", 2, "low", `row 2: column 4 (low): "n/a" is not a number`},
		{"nan", m, Options{Timeframe: "1h"}, h + r1 + "2024-01-01T01:00:00Z,NaN,2,0.5,1.5,10\n", 2, "open", `row 2: open is NaN`},
		{"null is an error", m, Options{Timeframe: "1h"}, h + r1 + "2024-01-01T01:00:00Z,null,2,0.5,1.5,10\n", 2, "open", `"null" is not a number`},
		{"off grid", m, Options{Timeframe: "1h"}, h + r1 + "2024-01-01T01:30:00Z,1,2,0.5,1.5,10\n", 2, "time", "2024-01-01T01:30:00Z is not the start of a 1h candle (nearest is 2024-01-01T01:00:00Z)"},
		{"mixed", m, Options{Timeframe: "1h"}, h + r1 + "2024-01-01T00:30:00Z,1,2,0.5,1.5,10\n", 2, "time", "only 30m0s after the previous row's"},
		{"wrong delimiter", m, Options{Timeframe: "1h"}, h + "2024-01-01T00:00:00Z;1;2;0.5;1.5;10\n", 1, "", "row has 1 fields but the header has 6 (wrong delimiter?)"},
		{"quote", m, Options{Timeframe: "1h"}, h + r1 + "\"2024-01-01T01:00:00Z,1,2,0.5,1.5,10\n", 2, "", "unbalanced quotes"},
		{"unit", Mapping{Time: "time", Open: "open", High: "high", Low: "low", Close: "close", TimeFormat: "ms"}, Options{Timeframe: "1h"}, h + "1704067200000.5,1,2,0.5,1.5,10\n", 1, "time", "is not a Unix time in milliseconds"},
		{"out of range", Mapping{Time: "time", Open: "open", High: "high", Low: "low", Close: "close", TimeFormat: "ms"}, Options{Timeframe: "1m"}, h + "99999999999960000,1,2,0.5,1.5,10\n", 1, "time", "outside the supported range"},
		{"blank only", m, Options{Timeframe: "1h"}, "\n\n", 0, "", "empty file"},
		// The one candle rule set (datafile.CheckCandle) by kind.
		{"indicative negative volume", m, Options{Timeframe: "1h", Kind: datafile.Indicative}, h + r1 + "2024-01-01T01:00:00Z,-1,2,0.5,1.5,-3\n", 2, "volume", "volume -3 is negative"},
		{"mark price not positive", m, Options{Timeframe: "1h", Kind: datafile.IndicativePrices}, h + r1 + "2024-01-01T01:00:00Z,-1,2,0.5,1.5,0\n", 2, "open", "open -1 is not a positive price"},
		{"mark price low above high", m, Options{Timeframe: "1h", Kind: datafile.IndicativePrices}, h + r1 + "2024-01-01T01:00:00Z,1,2,2.5,1.5,0\n", 2, "high", "high 2 is below low 2.5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := CSV(strings.NewReader(c.in), "x.csv", c.m, c.opt)
			wantRowError(t, err, "x.csv", c.row, c.col, c.msg)
		})
	}
}

func TestFileDispatch(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rows := genBinance(60, "1m", jan2024, false, 1)
	want, err := importBinance(rows, "BTCUSDT-1m-2024-01-01.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Freqtrade files of the same candles, written by hand.
	var js, cs strings.Builder
	js.WriteString("[")
	cs.WriteString("date,open,high,low,close,volume\n")
	f := want.Frame
	for i := range f.Len() {
		if i > 0 {
			js.WriteString(",")
		}
		row := fmt.Sprintf("%d,%v,%v,%v,%v,%v", f.Time[i], f.Open[i], f.High[i], f.Low[i], f.Close[i], f.Volume[i])
		js.WriteString("[" + row + "]")
		cs.WriteString(row + "\n")
	}
	js.WriteString("]")
	ft := write("BTC_USDT-1m.json", []byte(js.String()))
	for _, c := range []struct {
		path   string
		format Format
		m      Mapping
		want   Format
	}{
		{write("BTCUSDT-1m-2024-01-01.zip", makeZip(t, "BTCUSDT-1m-2024-01-01.csv", rows)), "", Mapping{}, FormatBinance},
		{write("BTCUSDT-1m-2024-01-01.csv", rows), "", Mapping{}, FormatBinance},
		{ft, "", Mapping{}, FormatFreqtrade},
		{write("BTC_USDT-1m.csv", []byte(cs.String())), "", Mapping{}, FormatFreqtrade},
		{write("BTCUSDT-1m-2024-01-01.txt", rows), "", Mapping{Time: "1", Open: "2", High: "3", Low: "4", Close: "5", Volume: "6", NoHeader: true}, FormatCSV},
		{write("klines.txt", rows), FormatBinance, Mapping{}, FormatBinance},
	} {
		opt := Options{}
		if c.want == FormatCSV || filepath.Base(c.path) == "klines.txt" {
			opt = Options{Pair: "BTC/USDT", Timeframe: "1m"}
		}
		res, err := File(c.path, c.format, c.m, opt)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if res.Format != c.want {
			t.Errorf("%s: format %s, want %s", c.path, res.Format, c.want)
		}
		sameFrame(t, res.Frame, want.Frame)
	}
	_, err = File(write("notes.txt", []byte("hello\n")), "", Mapping{}, Options{})
	wantRowError(t, err, filepath.Join(dir, "notes.txt"), 0, "", "cannot tell the file's format")
	if _, err := File(filepath.Join(dir, "missing.csv"), FormatYahoo, Mapping{}, Options{}); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := File(dir, FormatYahoo, Mapping{}, Options{}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
}

func TestParseFormat(t *testing.T) {
	for s, want := range map[string]Format{"": "", "auto": "", "Binance": FormatBinance, "yahoo": FormatYahoo, "csv": FormatCSV, "freqtrade": FormatFreqtrade} {
		if got, err := ParseFormat(s); err != nil || got != want {
			t.Errorf("%q: %q %v", s, got, err)
		}
	}
	if _, err := ParseFormat("excel"); err == nil {
		t.Error("no error")
	}
	if len(Formats()) != 4 || sdk.Timeframe("1m") != "1m" {
		t.Error("formats")
	}
}

func TestParseDelimiter(t *testing.T) {
	for s, want := range map[string]byte{"": ',', ",": ',', ";": ';', "tab": '\t', `\t`: '\t', "|": '|', "space": ' '} {
		if got, err := ParseDelimiter(s); err != nil || got != want {
			t.Errorf("%q: %q %v", s, got, err)
		}
	}
	for _, bad := range []string{"ab", `"`, "é"} {
		if _, err := ParseDelimiter(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestSummary(t *testing.T) {
	res, err := File(filepath.Join(testdata, "yhoo-1996-04-nulls.csv"), "", Mapping{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "10 candles 1996-04-12T00:00:00Z..1996-04-25T00:00:00Z from 12 rows; skipped 2 rows: null values (no prices for this date) (first at " + filepath.Join(testdata, "yhoo-1996-04-nulls.csv") + ": row 7)"
	if got := res.Summary(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
