package importer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/sdk"
)

// checkFuzz asserts the importers' contract: an error (a *datafile.RowError
// naming the source), or a frame that passes datafile.Validate with the
// requested pair and timeframe.
func checkFuzz(t *testing.T, res *Result, err error, source, pair string, tf sdk.Timeframe) {
	t.Helper()
	if err != nil {
		if res != nil {
			t.Fatalf("result along with error %v", err)
		}
		var re *datafile.RowError
		if !errors.As(err, &re) || (re.File != source && !bytes.HasPrefix([]byte(re.File), []byte(source+":"))) {
			t.Fatalf("error %v (%T) does not name %s", err, err, source)
		}
		return
	}
	f := res.Frame
	if verr := datafile.Validate(f, source); verr != nil {
		t.Fatalf("frame fails validation: %v", verr)
	}
	if f.Pair != pair || f.Timeframe != tf {
		t.Fatalf("series %q %q, want %q %q", f.Pair, f.Timeframe, pair, tf)
	}
	for _, ms := range f.Time {
		if !tf.OnGrid(ms) {
			t.Fatalf("%d is off the %s grid", ms, tf)
		}
	}
	if res.Rows < f.Len()+res.SkippedRows() {
		t.Fatalf("%d rows but %d candles and %d skipped", res.Rows, f.Len(), res.SkippedRows())
	}
}

func FuzzBinance(f *testing.F) {
	good := genBinance(4, "1m", jan2024, false, 1)
	micro := genBinance(3, "1m", jan2024, true, 2)
	f.Add(good, false, uint8(0))
	f.Add(micro, false, uint8(0))
	f.Add(makeZip(f, "a.csv", good), false, uint8(0))
	f.Add(makeZip(f, "b.csv", micro, "a.csv", good), false, uint8(0))
	f.Add(append([]byte("open_time,open,high,low,close,volume,close_time,a,b,c,d,e\n"), good...), false, uint8(0))
	f.Add(genBinance(3, "1h", jan2024, false, 3), true, uint8(5))
	f.Add(genBinance(3, "1w", jan2024, false, 3), true, uint8(13))
	for _, s := range []string{"", "\n", "PK", "1704067200000,1,2,0.5,1.5,10,1704067259999,0,0,0,0,0",
		"1704067200000,1,2,0.5,1.5,10,1704067229999,0,0,0,0,0\n", "1704067200000,1,2,0.5,1.5,10\n", "x,1,2,3,4,5,6,7,8,9,10,11\n",
		"1704067200000,1e400,2,0.5,1.5,10,1704067259999,0,0,0,0,0\n", "1704067200000,NaN,2,0.5,1.5,10,1704067259999,0,0,0,0,0\n"} {
		f.Add([]byte(s), false, uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, zipIt bool, tfi uint8) {
		tfs := sdk.Timeframes()
		tf := tfs[int(tfi)%len(tfs)]
		if zipIt {
			data = makeZip(t, "x.csv", data)
		}
		res, err := Binance(bytes.NewReader(data), int64(len(data)), "fuzz", Options{Pair: "BTC/USDT", Timeframe: tf})
		checkFuzz(t, res, err, "fuzz", "BTC/USDT", tf)
	})
}

func FuzzYahoo(f *testing.F) {
	real, err := os.ReadFile(filepath.Join(testdata, "orcl-1995-01.csv"))
	if err != nil {
		f.Fatal(err)
	}
	nulls, err := os.ReadFile(filepath.Join(testdata, "yhoo-1996-04-nulls.csv"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real, false, uint8(11))
	f.Add(nulls, true, uint8(11))
	const h = "Date,Open,High,Low,Close,Adj Close,Volume\n"
	for _, s := range []string{"", h, h + "2024-01-01,null,null,null,null,null,null\n", h + "2024-01-01,1,2,0.5,1.5,0,1\n",
		h + "2024-01-01,1,2,0.5,1.5,1.4,1\n2024-01-01,1,2,0.5,1.5,1.4,1\n", h + "2024-01-08,1,2,0.5,1.5,1.4,1\n", "Date,Open\n2024-01-01,1\n"} {
		f.Add([]byte(s), false, uint8(11))
		f.Add([]byte(s), true, uint8(13))
	}
	f.Fuzz(func(t *testing.T, data []byte, adjusted bool, tfi uint8) {
		tfs := sdk.Timeframes()
		tf := tfs[int(tfi)%len(tfs)]
		res, err := Yahoo(bytes.NewReader(data), "fuzz", Options{Pair: "ORCL/USD", Timeframe: tf, Adjusted: adjusted})
		checkFuzz(t, res, err, "fuzz", "ORCL/USD", tf)
	})
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("time,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n2024-01-01 01:00,1,2,0.5,1.5,10\n"), "time=time,open=open,high=high,low=low,close=close,volume=volume", byte(','), false, "", uint8(5))
	f.Add([]byte("1704067200,1,2,0.5,1.5,10\n1704070800,1,2,0.5,1.5,10\n"), "time=1,open=2,high=3,low=4,close=5,volume=6", byte(','), true, "s", uint8(5))
	f.Add([]byte("\"t\";o;h;l;c\n01.01.2024 00:00;1;2;0.5;1.5\n\n01.01.2024 01:00;1;2;0.5;1.5\n"), "time=t,open=o,high=h,low=l,close=c", byte(';'), false, "02.01.2006 15:04", uint8(5))
	f.Add(genBinance(5, "1m", jan2024, true, 1), "time=1,open=2,high=3,low=4,close=5,volume=6", byte(','), true, "auto", uint8(0))
	f.Add([]byte("a\tb\n\"1\"\t\"2\n"), "time=a,open=b,high=b,low=b,close=b", byte('\t'), false, "ms", uint8(0))
	f.Add([]byte(""), "time=1,open=1,high=1,low=1,close=1", byte(0), true, "", uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, mapping string, delim byte, noHeader bool, timeFormat string, tfi uint8) {
		m, err := ParseMapping(mapping)
		if err != nil {
			return
		}
		m.Delimiter, m.NoHeader, m.TimeFormat = delim, noHeader, timeFormat
		tfs := sdk.Timeframes()
		tf := tfs[int(tfi)%len(tfs)]
		res, err := CSV(bytes.NewReader(data), "fuzz", m, Options{Pair: "X/Y", Timeframe: tf})
		checkFuzz(t, res, err, "fuzz", "X/Y", tf)
	})
}
