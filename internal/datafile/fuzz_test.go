package datafile

import (
	"bytes"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/tradai/tradai/sdk"
)

// checkFuzzResult asserts the readers' contract: an error, or a frame that
// passes Validate, carries pair and timeframe, and has consistent columns.
func checkFuzzResult(t *testing.T, f *sdk.Frame, err error, tf sdk.Timeframe) {
	t.Helper()
	if err != nil {
		if f != nil {
			t.Fatalf("frame returned along with error %v", err)
		}
		var re *RowError
		if !errors.As(err, &re) || re.File != "fuzz" {
			t.Fatalf("error %v (%T) is not a *RowError naming the source", err, err)
		}
		return
	}
	if f == nil {
		t.Fatal("nil frame without error")
	}
	if verr := Validate(f, "fuzz"); verr != nil {
		t.Fatalf("frame fails validation: %v", verr)
	}
	if f.Pair != "BTC/USDT" || f.Timeframe != tf {
		t.Fatalf("pair/timeframe %q %q", f.Pair, f.Timeframe)
	}
}

func fuzzSeedFile(f *testing.F, name string) []byte {
	data, err := readTestFile(filepath.Join(testdataDir, name))
	if err != nil {
		f.Fatal(err)
	}
	return data
}

func FuzzJSON(f *testing.F) {
	real := fuzzSeedFile(f, "UNITTEST_BTC-1m.json")
	// Seeds stay small (the whole 1 MB file would slow the mutator down):
	// the start of the real file, closed, and its end.
	f.Add(append(bytes.Clone(real[:bytes.IndexByte(real[2000:], ']')+2001]), ']'), false)
	f.Add(real[:2000], false)
	f.Add(real[len(real)-1000:], false)
	var buf bytes.Buffer
	_ = WriteJSON(&buf, genFrame(20, "5m", 9))
	f.Add(buf.Bytes(), true)
	for _, s := range []string{
		"", "[]", "[", "[[", "[[]]", "[[1515569100000,1,2,0.5,1.5,10]]",
		"[[1515569100000,1,2,0.5,1.5]]", "[[1515569100000,1,2,0.5,1.5,10,1]]",
		"[[1515569100000,1,2,0.5,1.5,null]]", "[[1515569100000,NaN,2,0.5,1.5,10]]",
		"[[1.5e12,1,2,0.5,1.5,1e3]]", "[[-1,1,2,0.5,1.5,10]]", "[[1515569100000,1,2,0.5,1.5,10],[1515569100000,1,2,0.5,1.5,10]]",
		"[[99999999999999999999,1,2,0.5,1.5,10]]", " \n[ [1515569100000 , 1 ,2,0.5,1.5,10 ] ] \n", "{}", "[[1515569100000,1,2,0.5,1.5,10]] x",
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, fiveMin bool) {
		tf := sdk.Timeframe("1m")
		if fiveMin {
			tf = "5m"
		}
		fr, err := ReadJSON(bytes.NewReader(data), "fuzz", "BTC/USDT", tf)
		checkFuzzResult(t, fr, err, tf)
	})
}

func FuzzCSV(f *testing.F) {
	var buf bytes.Buffer
	fr := genFrame(20, "5m", 10)
	_ = WriteCSV(&buf, fr)
	f.Add(buf.Bytes())
	fr.EnsureSignals()
	fr.EnterLong[3], fr.ExitShort[5] = true, true
	fr.SetEnterTag(3, `a "tag", quoted`)
	buf.Reset()
	_ = WriteCSV(&buf, fr)
	f.Add(buf.Bytes())
	for _, s := range []string{
		"", csvHead, csvHead + csvRow1 + csvRow2, csvRow1 + csvRow2,
		csvHead + "2018-01-10 07:25:00+00:00,1,2,0.5,1.5,10\n",
		csvHead + "2018-01-10,1,2,0.5,1.5,10\n2018-01-11,1,2,0.5,1.5,10\n",
		csvHead + "1515569100000,1,2,0.5,1.5,10\n",
		csvHead + "2018-01-10T07:25:00Z,1,2,0.5,1.5\n",
		csvHead + "2018-01-10T07:25:00Z,1,2,3,1.5,10\n",
		csvHead + "\"2018-01-10T07:25:00Z,1,2,0.5,1.5,10\n",
		"Volume,CLOSE,x,low,high,open,date,enter_long,exit_long,enter_short,exit_short,enter_tag\n10,1.5,,0.5,2,1,2018-01-10T07:25:00Z,1,0,true,False,t\n",
		"date,open,high,low,close,volume,date\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := ReadCSV(bytes.NewReader(data), "fuzz", "BTC/USDT", "5m")
		checkFuzzResult(t, fr, err, "5m")
		if err == nil && fr.HasSignals() != (len(fr.EnterLong) > 0) {
			t.Fatal("partial signal columns")
		}
	})
}

func FuzzFeather(f *testing.F) {
	real := fuzzSeedFile(f, "XRP_ETH-5m.feather")
	f.Add(real)
	f.Add(real[:len(real)/2])
	small := genFrame(10, "5m", 11)
	for _, compress := range []bool{false, true} {
		var buf bytes.Buffer
		_ = WriteFeather(&buf, small, compress)
		f.Add(buf.Bytes())
	}
	sig := copyFrame(small)
	sig.EnsureSignals()
	sig.SetEnterTag(2, "x")
	var buf bytes.Buffer
	_ = WriteFeather(&buf, sig, true)
	f.Add(buf.Bytes())
	f.Add([]byte("ARROW1\x00\x00"))
	f.Add([]byte("FEA1"))
	f.Add([]byte(strings.Repeat("ARROW1", 8)))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := ReadFeather(bytes.NewReader(data), int64(len(data)), "fuzz", "BTC/USDT", "5m")
		checkFuzzResult(t, fr, err, "5m")
	})
}

// FuzzParquet feeds corrupt parquet files to the reader: any bytes give a
// frame that passes validation or an error naming the source, never a
// panic, and allocate no more than the file's inflate limit allows (with
// room for the decoders' fixed buffers).
func FuzzParquet(f *testing.F) {
	small := genFrame(10, "5m", 12)
	var buf bytes.Buffer
	_ = WriteParquet(&buf, small)
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:buf.Len()/2])
	sig := copyFrame(small)
	sig.EnsureSignals()
	sig.EnterShort[3] = true
	sig.SetEnterTag(2, "x")
	buf.Reset()
	_ = WriteParquet(&buf, sig)
	f.Add(buf.Bytes())
	// Dictionary pages, zstd, nulls and three row groups, as pandas writes.
	valid := []bool{true, true, true, false, true, true, true, true, true, true}
	f.Add(pqarrowFile(f, []arrow.Field{f64("volume"), {Name: "date", Type: msUTC}, f64("open"), f64("high"), f64("low"), f64("close")},
		[]arrow.Array{floats(small.Volume, valid), scaledTimes(small, arrow.Millisecond, "UTC"), floats(small.Open, nil), floats(small.High, nil), floats(small.Low, nil), floats(small.Close, nil)},
		pqarrowOpts{codec: compress.Codecs.Zstd, dictionary: true, groupRows: 4, storeSchema: true}))
	f.Add([]byte("PAR1"))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Add([]byte(strings.Repeat("PAR1", 8)))
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fr, err := ReadParquet(bytes.NewReader(data), int64(len(data)), "fuzz", "BTC/USDT", "5m")
		checkFuzzResult(t, fr, err, "5m")
		for _, kind := range []Kind{Candles, Indicative} {
			fr, err := readParquet(bytes.NewReader(data), int64(len(data)), "fuzz", "BTC/USDT", "5m", kind, InflateLimit{Max: limit})
			if err != nil {
				checkFuzzResult(t, nil, err, "5m")
			} else if fr == nil || fr.Pair != "BTC/USDT" {
				t.Fatalf("frame %v without error", fr)
			}
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 128<<20 {
			t.Fatalf("reading %d bytes allocated %d MiB", len(data), n>>20)
		}
	})
}
