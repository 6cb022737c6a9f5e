package datafile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/tradai/tradai/sdk"
)

// featherBytes returns f written by WriteFeather.
func featherBytes(t testing.TB, f *sdk.Frame, compress bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteFeather(&buf, f, compress); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeStoredFile writes f as the market store does (uncompressed feather).
func writeStoredFile(t testing.TB, dir string, f *sdk.Frame) string {
	t.Helper()
	return writeRaw(t, dir, FileName(f.Pair, f.Timeframe, string(Feather)), featherBytes(t, f, false))
}

// featherBatches writes f as an uncompressed feather file with record
// batches of rows rows, as other writers do.
func featherBatches(t testing.TB, f *sdk.Frame, rows int) []byte {
	t.Helper()
	schema := featherSchema(f)
	var buf bytes.Buffer
	fw, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	for from := 0; from < f.Len(); from += rows {
		rec := frameRecord(schema, f, from, min(from+rows, f.Len()))
		if err := fw.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wantRange returns the rows of f with a date in [start, end) (0 = open).
func wantRange(f *sdk.Frame, start, end int64) (lo, hi int) {
	lo, hi = 0, f.Len()
	if start != 0 {
		lo = sort.Search(f.Len(), func(i int) bool { return f.Time[i] >= start })
	}
	if end != 0 {
		hi = sort.Search(f.Len(), func(i int) bool { return f.Time[i] >= end })
	}
	return lo, hi
}

// mustDirect reads data with the direct reader and fails unless it took
// the file, or unless it answers the same with the file's bytes as its
// mapping (see storedFile.view).
func mustDirect(t *testing.T, data []byte, q Query) (*sdk.Frame, error) {
	t.Helper()
	f, ok, err := readStored(bytes.NewReader(data), int64(len(data)), "mem", q, nil)
	if !ok {
		t.Fatal("the direct reader did not take the file")
	}
	mf, mok, merr := readStored(bytes.NewReader(data), int64(len(data)), "mem", q, aligned(data))
	sameAnswer(t, mf, merr, f, err)
	if !mok {
		t.Fatal("the direct reader did not take the mapped file")
	}
	return f, err
}

// aligned returns a copy of data at an 8-byte aligned address, as a
// mapping is.
func aligned(data []byte) []byte {
	mem := arrow.Int64Traits.CastToBytes(make([]int64, (len(data)+7)/8))[:len(data)]
	copy(mem, data)
	return mem
}

// sameAnswer fails unless got and want are the same frame or the same
// error.
func sameAnswer(t testing.TB, got *sdk.Frame, gotErr error, want *sdk.Frame, wantErr error) {
	t.Helper()
	switch {
	case (gotErr == nil) != (wantErr == nil):
		t.Fatalf("mapped: %v, copied: %v", gotErr, wantErr)
	case gotErr != nil && gotErr.Error() != wantErr.Error():
		t.Fatalf("mapped: %v, copied: %v", gotErr, wantErr)
	case gotErr == nil:
		assertSameFrame(t, got, want)
	}
}

// rangeCases returns queries over f: full, partial, and at the edges.
func rangeCases(f *sdk.Frame) map[string][2]int64 {
	n := f.Len()
	first, last := f.Time[0], f.Time[n-1]
	tf := f.Timeframe.Millis()
	return map[string][2]int64{
		"all":                       {0, 0},
		"start before first":        {first - 10*tf, 0},
		"end after last":            {0, last + 10*tf},
		"both outside":              {first - 1, last + 1},
		"start at a candle":         {f.Time[n/3], 0},
		"start between candles":     {f.Time[n/3] + 1, 0},
		"end at a candle, excluded": {0, f.Time[2*n/3]},
		"end between candles":       {0, f.Time[2*n/3] + 1},
		"middle":                    {f.Time[n/4], f.Time[n/2]},
		"one candle":                {f.Time[n/2], f.Time[n/2] + 1},
		"first candle":              {first, first + 1},
		"last candle":               {last, last + 1},
		"end just after last":       {f.Time[n-2] + 1, last + 1},
	}
}

// TestLoadRangeStored round-trips a stored series through the direct reader
// for full and partial ranges and compares with the rows selected from the
// original frame and with the slow path on the same bytes.
func TestLoadRangeStored(t *testing.T) {
	t.Parallel()
	orig := genFrame(3*parallelRows+123, "1m", 21) // large enough to read in parallel
	dir := t.TempDir()
	path := writeStoredFile(t, dir, orig)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range rangeCases(orig) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q := Query{Pair: orig.Pair, Timeframe: orig.Timeframe, Start: r[0], End: r[1]}
			lo, hi := wantRange(orig, r[0], r[1])
			if lo >= hi {
				t.Fatalf("bad test case: empty selection")
			}
			want := cutFrame(orig, lo, hi)
			direct, err := mustDirect(t, data, q)
			if err != nil {
				t.Fatal(err)
			}
			assertSameFrame(t, direct, want)
			slow, err := loadWhole(bytes.NewReader(data), int64(len(data)), Feather, "mem", q)
			if err != nil {
				t.Fatal(err)
			}
			assertSameFrame(t, slow, want)
			got, err := LoadRange(path, q)
			if err != nil {
				t.Fatal(err)
			}
			assertSameFrame(t, got, want)
		})
	}
	// Load is the whole file.
	got, err := Load(path, orig.Pair, orig.Timeframe)
	if err != nil {
		t.Fatal(err)
	}
	assertSameFrame(t, got, orig)
}

// TestWriteFeatherLayout checks that uncompressed output is one record
// batch that arrow's own reader reads back with the documented schema, and
// that compressed output keeps 65,536-row batches.
func TestWriteFeatherLayout(t *testing.T) {
	t.Parallel()
	orig := genFrame(featherBatchRows+10, "5m", 22)
	for _, compress := range []bool{false, true} {
		data := featherBytes(t, orig, compress)
		rdr, err := ipc.NewFileReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		wantBatches := 1
		if compress {
			wantBatches = 2
		}
		if rdr.NumRecords() != wantBatches {
			t.Errorf("compress=%v: %d record batches, want %d", compress, rdr.NumRecords(), wantBatches)
		}
		want := "schema:\n  fields: 6\n    - date: type=timestamp[ms, tz=UTC]\n    - open: type=float64\n    - high: type=float64\n    - low: type=float64\n    - close: type=float64\n    - volume: type=float64"
		if got := rdr.Schema().String(); got != want {
			t.Errorf("compress=%v: schema\n%s\nwant\n%s", compress, got, want)
		}
		rec, err := rdr.RecordBatchAt(0)
		if err != nil {
			t.Fatal(err)
		}
		if d := rec.Column(0).(*array.Timestamp).Value(1); int64(d) != orig.Time[1] {
			t.Errorf("date of row 2 = %d, want %d", d, orig.Time[1])
		}
		rdr.Close()
		_, ok, err := readStored(bytes.NewReader(data), int64(len(data)), "mem", Query{}, nil)
		if ok == compress || err != nil {
			t.Errorf("compress=%v: direct reader took the file: %v, error %v", compress, ok, err)
		}
	}
}

// TestLoadRangeMultiBatch reads uncompressed files of many record batches
// (as pyarrow writes them) directly, across batch boundaries, and LZ4 files
// through the slow path, with the same results.
func TestLoadRangeMultiBatch(t *testing.T) {
	t.Parallel()
	orig := genFrame(2500, "5m", 23)
	multi := featherBatches(t, orig, 1000)
	lz4 := featherBytes(t, orig, true)
	if _, ok, _ := readStored(bytes.NewReader(lz4), int64(len(lz4)), "mem", Query{}, nil); ok {
		t.Fatal("direct reader took an LZ4 file")
	}
	cases := rangeCases(orig)
	cases["across a batch boundary"] = [2]int64{orig.Time[990], orig.Time[2010]}
	cases["from a batch start"] = [2]int64{orig.Time[1000], orig.Time[2000]}
	for name, r := range cases {
		q := Query{Pair: orig.Pair, Timeframe: orig.Timeframe, Start: r[0], End: r[1]}
		lo, hi := wantRange(orig, r[0], r[1])
		want := cutFrame(orig, lo, hi)
		got, err := mustDirect(t, multi, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		assertSameFrame(t, got, want)
		got, err = loadRange(bytes.NewReader(lz4), int64(len(lz4)), Feather, "mem", q, nil)
		if err != nil {
			t.Fatalf("%s: lz4: %v", name, err)
		}
		assertSameFrame(t, got, want)
	}
}

// TestLoadRangeFallbackFormats cuts files of every other format to a range
// with the same result as the stored file.
func TestLoadRangeFallbackFormats(t *testing.T) {
	t.Parallel()
	orig := genFrame(3000, "5m", 24)
	dir := t.TempDir()
	start, end := orig.Time[700], orig.Time[2100]
	want := cutFrame(orig, 700, 2100)
	for _, format := range allFormats {
		path := writeFile(t, filepath.Join(dir, string(format)), FileName(orig.Pair, orig.Timeframe, string(format)), orig)
		got, err := LoadRange(path, Query{Pair: orig.Pair, Timeframe: orig.Timeframe, Start: start, End: end})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		assertSameFrame(t, got, want)
	}
	// Signal columns make a feather file go the slow way, and survive the cut.
	sig := copyFrame(orig)
	sig.EnsureSignals()
	sig.EnterLong[800] = true
	sig.SetEnterTag(801, "tag")
	data := featherBytes(t, sig, false)
	if _, ok, _ := readStored(bytes.NewReader(data), int64(len(data)), "mem", Query{}, nil); ok {
		t.Fatal("direct reader took a file with signal columns")
	}
	got, err := loadRange(bytes.NewReader(data), int64(len(data)), Feather, "mem", Query{Pair: orig.Pair, Timeframe: orig.Timeframe, Start: start, End: end}, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertSameFrame(t, got, cutFrame(sig, 700, 2100))
	if !got.EnterLong[100] || got.EnterTag[101] != "tag" {
		t.Error("signals not cut with the candles")
	}
}

// TestLoadRangeRealFiles reads Freqtrade's files (all LZ4-compressed, so
// read the slow way) to a range, with the same result as Load.
func TestLoadRangeRealFiles(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		file   string
		tf     sdk.Timeframe
		direct bool
	}{
		{"UNITTEST_BTC-1m.feather", "1m", false},
		{"UNITTEST_BTC-5m.feather", "5m", false},
		{"XRP_ETH-5m.feather", "5m", false},
		{"futures/XRP_USDT_USDT-5m-futures.feather", "5m", false},
	} {
		path := filepath.Join(testdataDir, tt.file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := readStored(bytes.NewReader(data), int64(len(data)), path, Query{}, nil); ok != tt.direct {
			t.Errorf("%s: direct reader took it: %v, want %v", tt.file, ok, tt.direct)
		}
		all, err := Load(path, "X/Y", tt.tf)
		if err != nil {
			t.Fatal(err)
		}
		n := all.Len()
		start, end := all.Time[n/4]+1, all.Time[3*n/4]
		got, err := LoadRange(path, Query{Pair: "X/Y", Timeframe: tt.tf, Start: start, End: end})
		if err != nil {
			t.Fatal(err)
		}
		assertSameFrame(t, got, cutFrame(all, n/4+1, 3*n/4))
		slow, err := loadWhole(bytes.NewReader(data), int64(len(data)), Feather, path, Query{Pair: "X/Y", Timeframe: tt.tf, Start: start, End: end})
		if err != nil {
			t.Fatal(err)
		}
		assertSameFrame(t, got, slow)
	}
}

// TestLoadRangeEmpty checks that a selection without candles is an error
// naming the file and the range.
func TestLoadRangeEmpty(t *testing.T) {
	t.Parallel()
	orig := genFrame(50, "1h", 25)
	dir := t.TempDir()
	stored := writeStoredFile(t, dir, orig)
	csvPath := writeFile(t, dir, "BTC_USDT-1h.csv", orig)
	first, last := orig.Time[0], orig.Time[49]
	for _, path := range []string{stored, csvPath} {
		for _, r := range [][2]int64{{last + 1, 0}, {0, first}, {first - 100, first}, {orig.Time[10] + 1, orig.Time[11]}} {
			_, err := LoadRange(path, Query{Pair: orig.Pair, Timeframe: orig.Timeframe, Start: r[0], End: r[1]})
			wantRowError(t, err, path, 0, "date", "no candles from ")
			if !errors.Is(err, ErrEmpty) {
				t.Errorf("%v does not wrap ErrEmpty", err)
			}
			if !strings.Contains(err.Error(), "50 candles run from "+fmtTime(first)+" to "+fmtTime(last)) {
				t.Errorf("%v does not say what the file holds", err)
			}
		}
		_, err := LoadRange(path, Query{Start: last, End: first})
		wantRowError(t, err, path, 0, "date", "empty range: end ")
		if !errors.Is(err, ErrEmpty) {
			t.Errorf("%v does not wrap ErrEmpty", err)
		}
	}
	_, err := LoadRange(stored, Query{Kind: Kind(7)})
	if err == nil || !strings.Contains(err.Error(), "unknown series kind 7") {
		t.Errorf("unknown kind: %v", err)
	}
	_, err = LoadRange(stored, Query{Timeframe: "7x"})
	if err == nil || !strings.Contains(err.Error(), "unknown timeframe") {
		t.Errorf("unknown timeframe: %v", err)
	}
}

// TestLoadRangeValidates checks that the direct reader validates what it
// returns, naming the file's row (not the row within the range), and only
// that.
func TestLoadRangeValidates(t *testing.T) {
	t.Parallel()
	orig := genFrame(3*parallelRows, "1m", 26)
	bad := 2*parallelRows + 5 // 0-based, in the second half
	f := copyFrame(orig)
	f.High[bad] = f.Low[bad] / 2
	data := featherBytes(t, f, false)
	q := Query{Pair: f.Pair, Timeframe: f.Timeframe}
	for _, start := range []int64{0, f.Time[parallelRows]} {
		q.Start = start
		_, err := mustDirect(t, data, q)
		wantRowError(t, err, "mem", bad+1, "high", "is below low")
		_, err = loadWhole(bytes.NewReader(data), int64(len(data)), Feather, "mem", q)
		wantRowError(t, err, "mem", bad+1, "high", "is below low")
	}
	// A range without the bad row loads.
	q.Start, q.End = f.Time[10], f.Time[bad]
	got, err := mustDirect(t, data, q)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != bad-10 {
		t.Errorf("%d candles, want %d", got.Len(), bad-10)
	}
	// The first bad row wins: a bad date after a bad value, in two chunks.
	f = copyFrame(orig)
	f.Volume[parallelRows+1] = -1
	f.Time[2*parallelRows+3] = f.Time[2*parallelRows+2]
	data = featherBytes(t, f, false)
	_, err = mustDirect(t, data, Query{Timeframe: "1m"})
	wantRowError(t, err, "mem", parallelRows+2, "volume", "volume -1 is negative")
	f.Volume[parallelRows+1] = 1
	f.Time[2*parallelRows] = f.Time[2*parallelRows-1] + 1
	data = featherBytes(t, f, false)
	_, err = mustDirect(t, data, Query{Timeframe: "1m"})
	wantRowError(t, err, "mem", 2*parallelRows+1, "date", "is only 1ms after the previous candle")
	// Dates in seconds and nanoseconds convert; seconds out of range fail.
	small := genFrame(20, "1m", 27)
	for _, unit := range []arrow.TimeUnit{arrow.Second, arrow.Nanosecond} {
		g := copyFrame(small)
		mul := map[arrow.TimeUnit]int64{arrow.Second: 1, arrow.Nanosecond: 1_000_000}[unit]
		for i := range g.Time {
			g.Time[i] = small.Time[i] / 1000 * 1000
			if unit == arrow.Second {
				g.Time[i] /= 1000
			} else {
				g.Time[i] *= mul
			}
		}
		data := featherUnit(t, g, unit)
		got, err := mustDirect(t, data, Query{Timeframe: "1m", Start: small.Time[5] / 1000 * 1000})
		if err != nil {
			t.Fatalf("%s: %v", unit, err)
		}
		if got.Len() != 15 || got.Time[0] != small.Time[5]/1000*1000 {
			t.Errorf("%s: %d candles from %d", unit, got.Len(), got.Time[0])
		}
	}
	g := copyFrame(small)
	for i := range g.Time {
		g.Time[i] = small.Time[i] // milliseconds where seconds belong
	}
	_, err = mustDirect(t, featherUnit(t, g, arrow.Second), Query{})
	wantRowError(t, err, "mem", 1, "date", "s is outside the supported range")
}

// featherUnit writes f uncompressed with its Time values as a timestamp of
// unit.
func featherUnit(t *testing.T, f *sdk.Frame, unit arrow.TimeUnit) []byte {
	t.Helper()
	schema := featherSchema(f)
	fields := schema.Fields()
	fields[0].Type = &arrow.TimestampType{Unit: unit, TimeZone: "UTC"}
	schema = arrow.NewSchema(fields, nil)
	var buf bytes.Buffer
	fw, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		t.Fatal(err)
	}
	rec := frameRecord(schema, f, 0, f.Len())
	defer rec.Release()
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLoadRangeCorrupt truncates a stored file at every length and flips
// every byte: the result is an error naming the file or a valid frame,
// never a panic.
func TestLoadRangeCorrupt(t *testing.T) {
	t.Parallel()
	orig := genFrame(40, "5m", 28)
	data := featherBytes(t, orig, false)
	dir := t.TempDir()
	path := filepath.Join(dir, "BTC_USDT-5m.feather")
	q := Query{Pair: orig.Pair, Timeframe: orig.Timeframe, Start: orig.Time[3], End: orig.Time[30]}
	for cut := range len(data) {
		if err := os.WriteFile(path, data[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := LoadRange(path, q)
		if f != nil || err == nil {
			t.Fatalf("cut at %d of %d: no error", cut, len(data))
		}
		wantRowError(t, err, path, 0, "", "")
		if cut > 0 && !errors.Is(err, ErrCorrupt) {
			t.Errorf("cut at %d: %v does not wrap ErrCorrupt", cut, err)
		}
	}
	corrupt, loaded := 0, 0
	for i := range data {
		for _, x := range []byte{0xFF, 0x01, 0x80} {
			b := bytes.Clone(data)
			b[i] ^= x
			f, direct, err := readStored(bytes.NewReader(b), int64(len(b)), "flip", q, nil)
			if !direct {
				f, err = loadWhole(bytes.NewReader(b), int64(len(b)), Feather, "flip", q)
			}
			if err != nil {
				if f != nil {
					t.Fatalf("flip %#x at %d: frame with error %v", x, i, err)
				}
				wantRowError(t, err, "flip", 0, "", "")
				if direct && errors.Is(err, ErrCorrupt) {
					corrupt++
				}
				continue
			}
			loaded++
			if err := ValidateKind(f, "flip", Candles); err != nil {
				t.Fatalf("flip %#x at %d: invalid frame: %v", x, i, err)
			}
		}
	}
	if corrupt == 0 || loaded == 0 {
		t.Errorf("flips: %d corrupt errors from the direct reader, %d loads: the test exercises too little", corrupt, loaded)
	}
}

// futuresFile is the path of a copy of Freqtrade's futures test data.
func futuresFile(name string) string { return filepath.Join(testdataDir, "futures", name) }

// TestLoadRangeIndicative loads Freqtrade's mark price and funding rate
// files, which fail the candle rules.
func TestLoadRangeIndicative(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file       string
		tf         sdk.Timeframe
		kind       Kind
		candlesErr string // error with Kind Candles
		rows       int
		first      candle
	}{
		{"XRP_USDT_USDT-1h-mark.feather", "1h", IndicativePrices, "volume is null", 100,
			candle{"2021-11-15T06:00:00Z", 1.20932, 1.21787, 1.20763, 1.21431, 0}},
		{"XRP_USDT_USDT-8h-funding_rate.feather", "8h", Indicative, "high 0 is not a positive price", 91,
			candle{"2021-11-18T00:00:00.017Z", 0.0001, 0, 0, 0, 0}},
		{"XRP_USDT_USDT-8h-mark.feather", "8h", IndicativePrices, "", 91,
			candle{"2021-11-18T00:00:00Z", 1.0959, 1.162, 1.0907, 1.1074, 5.233747438e+08}},
	}
	for _, tt := range tests {
		path := futuresFile(tt.file)
		q := Query{Pair: "XRP/USDT:USDT", Timeframe: tt.tf}
		_, err := LoadRange(path, q)
		if tt.candlesErr != "" {
			wantRowError(t, err, path, 1, "", tt.candlesErr)
		} else if err != nil {
			t.Errorf("%s as candles: %v", tt.file, err)
		}
		q.Kind = tt.kind
		f, err := LoadRange(path, q)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if f.Len() != tt.rows {
			t.Errorf("%s: %d rows, want %d", tt.file, f.Len(), tt.rows)
		}
		if got := candleAt(f, 0); got != tt.first {
			t.Errorf("%s: first row %+v, want %+v", tt.file, got, tt.first)
		}
		if err := ValidateKind(f, path, tt.kind); err != nil {
			t.Errorf("%s: %v", tt.file, err)
		}
		// A range of it.
		q.Start, q.End = f.Time[10], f.Time[20]
		part, err := LoadRange(path, q)
		if err != nil {
			t.Fatal(err)
		}
		assertSameFrame(t, part, cutFrame(f, 10, 20))
	}
	mark, err := LoadRange(futuresFile("XRP_USDT_USDT-1h-mark.feather"), Query{Kind: IndicativePrices})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range mark.Volume {
		if v != 0 {
			t.Fatalf("null volume of row %d read as %v", i+1, v)
		}
	}
}

// TestLoadRangeIndicativeValues checks the Indicative rules on files of
// each kind of reader: negative and zero values load, a null or NaN volume
// reads as 0, a NaN price fails naming its row.
func TestLoadRangeIndicativeValues(t *testing.T) {
	t.Parallel()
	f := genFrame(30, "8h", 29)
	for i := range f.Len() {
		f.Open[i], f.High[i], f.Low[i], f.Close[i] = -0.0001*float64(i), 0, 0.5, -3
	}
	f.Volume[4] = math.NaN()
	dir := t.TempDir()
	q := Query{Pair: f.Pair, Timeframe: f.Timeframe, Kind: Indicative}
	for _, format := range allFormats {
		path := writeFile(t, filepath.Join(dir, string(format)), FileName(f.Pair, f.Timeframe, string(format)), f)
		got, err := LoadRange(path, q)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		want := copyFrame(f)
		want.Volume[4] = 0
		assertSameFrame(t, got, want)
		_, err = LoadRange(path, Query{Pair: f.Pair, Timeframe: f.Timeframe})
		wantRowError(t, err, path, 1, "open", "")
	}
	if _, err := mustDirect(t, featherBytes(t, f, false), q); err != nil {
		t.Fatal(err)
	}
	g := copyFrame(f)
	g.Close[7] = math.Inf(-1)
	path := writeRaw(t, dir, "inf.feather", featherBytes(t, g, false))
	_, err := LoadRange(path, q)
	wantRowError(t, err, path, 8, "close", "close is -Inf")
	// A null volume in JSON and CSV reads as 0 for Indicative only.
	js := writeRaw(t, dir, "n.json", []byte("[[1637193600000,1,2,0.5,1.5,null],[1637222400000,-1,2,0.5,1.5,3]]"))
	csvPath := writeRaw(t, dir, "n.csv", []byte("date,open,high,low,close,volume\n1637193600000,1,2,0.5,1.5,\n1637222400000,-1,2,0.5,1.5,3\n"))
	for _, p := range []string{js, csvPath} {
		got, err := LoadRange(p, Query{Timeframe: "8h", Kind: Indicative})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if got.Len() != 2 || got.Volume[0] != 0 || got.Open[1] != -1 {
			t.Errorf("%s: %v %v", p, got.Volume, got.Open)
		}
		_, err = LoadRange(p, Query{Timeframe: "8h"})
		wantRowError(t, err, p, 1, "volume", "")
	}
}

// FuzzLoadRange feeds corrupted stored files to LoadRange's readers: the
// result is an error naming the source or a frame that passes validation
// and holds only rows of the range; whenever the whole-file reader loads
// the file, LoadRange loads it too, with the same candles; reading the
// file's bytes as a mapping (MapRange) gives the same answer.
func FuzzLoadRange(f *testing.F) {
	small := genFrame(12, "5m", 30)
	f.Add(featherBytes(f, small, false), int64(0), int64(0))
	f.Add(featherBytes(f, small, false), small.Time[3], small.Time[9])
	f.Add(featherBatches(f, small, 5), small.Time[4]+1, int64(0))
	f.Add(featherBytes(f, small, true), int64(0), small.Time[7])
	mark, err := os.ReadFile(futuresFile("XRP_USDT_USDT-8h-funding_rate.feather"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mark, int64(1637337600005), int64(0))
	f.Fuzz(func(t *testing.T, data []byte, start, end int64) {
		// A small inflate limit keeps corrupt length fields from making
		// the slow path allocate and zero 64 MiB per run.
		q := Query{Pair: "BTC/USDT", Timeframe: "5m", Start: start, End: end, Inflate: InflateLimit{Max: 1 << 20}}
		if start != 0 && end != 0 && end <= start {
			return // rejected by LoadRange before reading
		}
		for _, kind := range []Kind{Candles, Indicative, IndicativePrices} {
			q.Kind = kind
			fr, err := loadRange(bytes.NewReader(data), int64(len(data)), Feather, "fuzz", q, nil)
			mapped, merr := loadRange(bytes.NewReader(data), int64(len(data)), Feather, "fuzz", q, aligned(data))
			sameAnswer(t, mapped, merr, fr, err)
			slow, slowErr := loadWhole(bytes.NewReader(data), int64(len(data)), Feather, "fuzz", q)
			if err != nil {
				checkFuzzResult(t, fr, err, "5m")
				if slowErr == nil {
					t.Fatalf("the whole-file reader gives %d valid candles, LoadRange: %v", slow.Len(), err)
				}
				continue
			}
			if verr := ValidateKind(fr, "fuzz", kind); verr != nil {
				t.Fatalf("frame fails validation: %v", verr)
			}
			if fr.Pair != "BTC/USDT" || fr.Timeframe != "5m" {
				t.Fatalf("pair/timeframe %q %q", fr.Pair, fr.Timeframe)
			}
			if (start != 0 && fr.Time[0] < start) || (end != 0 && fr.Time[fr.Len()-1] >= end) {
				t.Fatalf("rows %d..%d outside the range [%d, %d)", fr.Time[0], fr.Time[fr.Len()-1], start, end)
			}
			if slowErr == nil {
				assertSameFrame(t, fr, slow)
			}
		}
	})
}

// bufferEntry returns the position in data of the Buffer struct {offset,
// length} of buffer k of the first record batch, and the batch's body
// length.
func bufferEntry(t *testing.T, data []byte, k int) (pos int, bodyLen int64) {
	t.Helper()
	size := len(data)
	flen := int(binary.LittleEndian.Uint32(data[size-10:]))
	footerAt := size - 10 - flen
	fb := flatbuf(data[footerAt : size-10])
	root, _ := fb.root()
	bstart, n, ok := fb.vector(root, 3, 24)
	if !ok || n == 0 {
		t.Fatal("no record batch")
	}
	off := int(binary.LittleEndian.Uint64(fb[bstart:]))
	bodyLen = int64(binary.LittleEndian.Uint64(fb[bstart+16:]))
	msgAt := off + 8 // continuation marker and length
	msg := flatbuf(data[msgAt:])
	mroot, _ := msg.root()
	rb, ok := msg.table(mroot, 2)
	if !ok {
		t.Fatal("no record batch header")
	}
	vstart, nbufs, ok := msg.vector(rb, 2, 16)
	if !ok || k >= nbufs {
		t.Fatalf("no buffer %d", k)
	}
	return msgAt + vstart + 16*k, bodyLen
}

// TestLoadRangeBufferOutside points a column's data past the record batch
// body and past the file's end: the direct reader reports a corrupt file
// naming the column instead of reading other bytes.
func TestLoadRangeBufferOutside(t *testing.T) {
	t.Parallel()
	orig := genFrame(40, "5m", 31)
	data := featherBytes(t, orig, false)
	if _, err := mustDirect(t, data, Query{}); err != nil {
		t.Fatal(err)
	}
	// Buffers: date validity 0, date values 1, open 2-3, ..., volume 10-11.
	pos, bodyLen := bufferEntry(t, data, 11)
	for name, off := range map[string]int64{"past the body": bodyLen - 8, "past the file": int64(len(data))} {
		b := bytes.Clone(data)
		binary.LittleEndian.PutUint64(b[pos:], uint64(off))
		_, err := mustDirect(t, b, Query{})
		wantRowError(t, err, "mem", 0, "", `the data of column "volume" lies outside the file`)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v does not wrap ErrCorrupt", name, err)
		}
	}
	// A length too short for the rows.
	b := bytes.Clone(data)
	binary.LittleEndian.PutUint64(b[pos+8:], 8)
	_, err := mustDirect(t, b, Query{})
	wantRowError(t, err, "mem", 0, "", `the data of column "volume" lies outside the file`)
}

// TestLoadRangeOddVtable: a flatbuffer vtable of odd size (here the date
// column's Timestamp type, 5 bytes instead of 8) still holds the slot that
// starts inside it, as the flatbuffers library reads it. The direct reader
// read the unit as absent (seconds) and failed on a file whose whole-file
// read gives its 12 valid candles; both readers now agree.
func TestLoadRangeOddVtable(t *testing.T) {
	t.Parallel()
	orig := genFrame(12, "5m", 30)
	data := featherBytes(t, orig, false)
	size := len(data)
	flen := int(binary.LittleEndian.Uint32(data[size-10:]))
	footerAt := size - 10 - flen
	fb := flatbuf(data[footerAt : size-10])
	root, _ := fb.root()
	schema, _ := fb.table(root, 1)
	fields, ok := parseFields(fb, schema)
	if !ok || fields[0].name != "date" || fields[0].typ != typeTimestamp {
		t.Fatalf("fields %+v", fields)
	}
	vt, vsize, _ := fb.vtable(fields[0].typTable)
	if vsize != 8 {
		t.Fatalf("Timestamp vtable of %d bytes", vsize)
	}
	binary.LittleEndian.PutUint16(data[footerAt+vt:], 5)
	q := Query{Pair: "BTC/USDT", Timeframe: "5m"}
	slow, err := loadWhole(bytes.NewReader(data), int64(size), Feather, "mem", q)
	if err != nil {
		t.Fatalf("whole-file read: %v", err)
	}
	assertSameFrame(t, slow, orig)
	got, err := mustDirect(t, data, q)
	if err != nil {
		t.Fatalf("direct read: %v", err)
	}
	assertSameFrame(t, got, orig)
}
