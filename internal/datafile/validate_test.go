package datafile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/tradai/tradai/sdk"
)

// TestBadCandles writes frames with one bad candle (row 17) in every format
// and checks that loading reports the file, row 17 and the column.
func TestBadCandles(t *testing.T) {
	t.Parallel()
	const i = 16 // row 17
	tests := []struct {
		name     string
		mutate   func(f *sdk.Frame)
		column   string
		contains string
	}{
		{"unsorted", func(f *sdk.Frame) { f.Time[i] = f.Time[i-1] - 3*300_000 }, "date", "must be sorted"},
		{"duplicate", func(f *sdk.Frame) { f.Time[i] = f.Time[i-1] }, "date", "duplicate date"},
		{"finer than timeframe", func(f *sdk.Frame) { f.Time[i] = f.Time[i-1] + 60_000 }, "date", "only 1m0s after the previous candle"},
		{"date out of range", func(f *sdk.Frame) { f.Time[i] = 1e16 }, "date", "outside the supported range"},
		{"high below low", func(f *sdk.Frame) { f.High[i], f.Low[i] = 0.051, 0.052; f.Open[i], f.Close[i] = 0.0515, 0.0515 }, "high", "high 0.051 is below low 0.052"},
		{"open above high", func(f *sdk.Frame) { f.Open[i] = f.High[i] * 1.01 }, "open", "outside the candle's low-high range"},
		{"open below low", func(f *sdk.Frame) { f.Open[i] = f.Low[i] * 0.99 }, "open", "outside"},
		{"close above high", func(f *sdk.Frame) { f.Close[i] = f.High[i] * 1.01 }, "close", "outside"},
		{"close below low", func(f *sdk.Frame) { f.Close[i] = f.Low[i] * 0.99 }, "close", "outside"},
		{"NaN open", func(f *sdk.Frame) { f.Open[i] = math.NaN() }, "open", "open is NaN"},
		{"Inf high", func(f *sdk.Frame) { f.High[i] = math.Inf(1) }, "high", "high is +Inf"},
		{"zero low", func(f *sdk.Frame) { f.Low[i] = 0 }, "low", "low 0 is not a positive price"},
		{"negative close", func(f *sdk.Frame) { f.Close[i] = -1 }, "close", "close -1 is not a positive price"},
		{"negative volume", func(f *sdk.Frame) { f.Volume[i] = -5 }, "volume", "volume -5 is negative"},
		{"NaN volume", func(f *sdk.Frame) { f.Volume[i] = math.NaN() }, "volume", "volume is NaN"},
		{"Inf volume", func(f *sdk.Frame) { f.Volume[i] = math.Inf(1) }, "volume", "volume is +Inf"},
	}
	base := genFrame(40, "5m", 3)
	base.Pair = "ETH/BTC"
	if err := Validate(base, "base"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		bad := copyFrame(base)
		tt.mutate(bad)
		t.Run(tt.name+"/Validate", func(t *testing.T) {
			t.Parallel()
			wantRowError(t, Validate(bad, "data/binance/ETH_BTC-5m.csv"), "data/binance/ETH_BTC-5m.csv", i+1, tt.column, tt.contains)
		})
		for _, format := range allFormats {
			t.Run(tt.name+"/"+string(format), func(t *testing.T) {
				t.Parallel()
				path := writeFile(t, t.TempDir(), FileName("ETH/BTC", "5m", string(format)), bad)
				f, err := Load(path, "ETH/BTC", "5m")
				if f != nil {
					t.Error("got a frame along with the error")
				}
				wantRowError(t, err, path, i+1, tt.column, tt.contains)
			})
		}
	}
}

func TestValidateFrameShape(t *testing.T) {
	t.Parallel()
	good := genFrame(10, "1h", 4)
	tests := []struct {
		name     string
		mutate   func(f *sdk.Frame) *sdk.Frame
		sentinel error
		contains string
	}{
		{"nil frame", func(*sdk.Frame) *sdk.Frame { return nil }, ErrEmpty, "nil frame"},
		{"empty", func(f *sdk.Frame) *sdk.Frame { return f.Slice(0, 0) }, ErrEmpty, "no candles"},
		{"missing volume", func(f *sdk.Frame) *sdk.Frame { f.Volume = nil; return f }, ErrMissingColumn, `missing column "volume"`},
		{"short close", func(f *sdk.Frame) *sdk.Frame { f.Close = f.Close[:5]; return f }, nil, `column "close" has 5 values`},
		{"partial signals", func(f *sdk.Frame) *sdk.Frame { f.EnterLong = make([]bool, f.Len()); return f }, nil, `signal column "exit_long"`},
		{"short tags", func(f *sdk.Frame) *sdk.Frame { f.EnterTag = []string{"x"}; return f }, nil, "enter_tag"},
		{"bad timeframe", func(f *sdk.Frame) *sdk.Frame { f.Timeframe = "7m"; return f }, nil, "unknown timeframe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Validate(tt.mutate(copyFrame(good)), "src")
			wantRowError(t, err, "src", 0, "", tt.contains)
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("error %v does not wrap %v", err, tt.sentinel)
			}
		})
	}
	// Daily stock data: unaligned, with weekend gaps, is fine; so is a
	// month shorter than 30 days for "1M".
	daily := &sdk.Frame{Timeframe: "1d", Time: []int64{1704153600000 + 14*3600_000, 1704240000000 + 14*3600_000, 1704672000000 + 14*3600_000},
		Open: []float64{1, 1, 1}, High: []float64{1, 1, 1}, Low: []float64{1, 1, 1}, Close: []float64{1, 1, 1}, Volume: []float64{0, 0, 0}}
	if err := Validate(daily, "daily"); err != nil {
		t.Error(err)
	}
	monthly := &sdk.Frame{Timeframe: "1M", Time: []int64{mustISO(t, "2024-01-01"), mustISO(t, "2024-02-01"), mustISO(t, "2024-03-01")},
		Open: []float64{1, 1, 1}, High: []float64{1, 1, 1}, Low: []float64{1, 1, 1}, Close: []float64{1, 1, 1}, Volume: []float64{0, 0, 0}}
	if err := Validate(monthly, "monthly"); err != nil {
		t.Error(err)
	}
	// Without a timeframe the spacing is not checked.
	noTF := copyFrame(good)
	noTF.Timeframe = ""
	noTF.Time[1] = noTF.Time[0] + 1
	if err := Validate(noTF, "notf"); err != nil {
		t.Error(err)
	}
}

func mustISO(t *testing.T, s string) int64 {
	v, ok := ParseISO([]byte(s))
	if !ok {
		t.Fatalf("bad date %q", s)
	}
	return v
}

// rawCase is a broken file and the error it must give.
type rawCase struct {
	name     string
	data     []byte
	row      int
	column   string
	sentinel error
	contains string
}

func runRawCases(t *testing.T, ext string, cases []rawCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(ext+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeRaw(t, t.TempDir(), "ETH_BTC-5m."+ext, tt.data)
			f, err := Load(path, "ETH/BTC", "5m")
			if f != nil {
				t.Error("got a frame along with the error")
			}
			wantRowError(t, err, path, tt.row, tt.column, tt.contains)
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("error %v does not wrap %v", err, tt.sentinel)
			}
		})
	}
}

const csvHead = "date,open,high,low,close,volume\n"
const csvRow1 = "2018-01-10T07:25:00Z,1,2,0.5,1.5,10\n"
const csvRow2 = "2018-01-10T07:30:00Z,1,2,0.5,1.5,10\n"

func TestBadCSV(t *testing.T) {
	t.Parallel()
	runRawCases(t, "csv", []rawCase{
		{"empty file", nil, 0, "", ErrEmpty, "empty file"},
		{"header only", []byte(csvHead), 0, "", ErrEmpty, "no data rows"},
		{"missing volume", []byte("date,open,high,low,close\n2018-01-10T07:25:00Z,1,2,0.5,1.5\n"), 0, "volume", ErrMissingColumn, `missing column "volume"`},
		{"no header", []byte(csvRow1 + csvRow2), 0, "", ErrMissingColumn, "missing header row"},
		{"row with 5 fields", []byte(csvHead + csvRow1 + "2018-01-10T07:30:00Z,1,2,0.5,1.5\n"), 2, "", ErrCorrupt, "row has 5 fields but the header has 6"},
		{"bad number", []byte(csvHead + csvRow1 + "2018-01-10T07:30:00Z,1,abc,0.5,1.5,10\n"), 2, "high", ErrCorrupt, `high "abc" is not a number`},
		{"empty number", []byte(csvHead + csvRow1 + "2018-01-10T07:30:00Z,1,2,0.5,,10\n"), 2, "close", ErrCorrupt, "close is empty"},
		{"bad date", []byte(csvHead + csvRow1 + "10/01/2018 07:30,1,2,0.5,1.5,10\n"), 2, "date", ErrCorrupt, "neither an ISO 8601 date"},
		{"impossible date", []byte(csvHead + csvRow1 + "2018-02-30T07:30:00Z,1,2,0.5,1.5,10\n"), 2, "date", ErrCorrupt, ""},
		{"bad signal", []byte("date,open,high,low,close,volume,enter_long\n2018-01-10T07:25:00Z,1,2,0.5,1.5,10,yes\n"), 1, "enter_long", ErrCorrupt, "enter_long"},
		{"duplicate column", []byte("date,open,high,low,close,volume,Close\n"), 0, "close", nil, "twice"},
		{"unterminated quote", []byte(csvHead + csvRow1 + "\"2018-01-10T07:30:00Z,1,2,0.5,1.5,10\n"), 2, "", ErrCorrupt, ""},
		{"high below low", []byte(csvHead + csvRow1 + "2018-01-10T07:30:00Z,0.0515,0.051,0.052,0.0515,10\n"), 2, "high", nil, "row 2: high 0.051 is below low 0.052"},
		{"unsorted", []byte(csvHead + csvRow2 + csvRow1), 2, "date", nil, "must be sorted"},
	})
}

func TestBadJSON(t *testing.T) {
	t.Parallel()
	good := `[[1515569100000,1,2,0.5,1.5,10],[1515569400000,1,2,0.5,1.5,10]]`
	runRawCases(t, "json", []rawCase{
		{"empty file", nil, 0, "", ErrEmpty, "empty file"},
		{"empty array", []byte(" [ ] "), 0, "", ErrEmpty, "no candles"},
		{"missing closing bracket", []byte(good[:len(good)-1]), 2, "", ErrCorrupt, "missing closing ']'"},
		{"cut mid-row", []byte(good[:45]), 2, "", ErrCorrupt, "end of file"},
		{"row with 5 fields", []byte(`[[1515569100000,1,2,0.5,1.5,10],[1515569400000,1,2,0.5,1.5]]`), 2, "volume", ErrCorrupt, "row has 5 fields"},
		{"row with 7 fields", []byte(`[[1515569100000,1,2,0.5,1.5,10,3]]`), 1, "", ErrCorrupt, "more than 6 fields"},
		{"not a number", []byte(`[[1515569100000,1,"2",0.5,1.5,10]]`), 1, "high", ErrCorrupt, "not a number"},
		{"null volume", []byte(`[[1515569100000,1,2,0.5,1.5,null]]`), 1, "volume", ErrCorrupt, "volume is null"},
		{"fractional date", []byte(`[[1515569100000.5,1,2,0.5,1.5,10]]`), 1, "date", ErrCorrupt, "not a timestamp in milliseconds"},
		{"trailing data", []byte(good + ` x`), 0, "", ErrCorrupt, "after the closing ']'"},
		{"object", []byte(`{"date": 1}`), 0, "", ErrCorrupt, "expected '['"},
		{"missing comma", []byte(`[[1515569100000,1,2,0.5,1.5,10][1515569400000,1,2,0.5,1.5,10]]`), 1, "", ErrCorrupt, "expected ',' or ']'"},
		{"negative volume", []byte(`[[1515569100000,1,2,0.5,1.5,10],[1515569400000,1,2,0.5,1.5,-1]]`), 2, "volume", nil, "negative"},
	})
}

func TestBadJSONGz(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`[[1515569100000,1,2,0.5,1.5,10],[1515569400000,1,2,0.5,1.5,10]]`))
	_ = zw.Close()
	var badRow bytes.Buffer
	zw = gzip.NewWriter(&badRow)
	_, _ = zw.Write([]byte(`[[1515569100000,1,2,0.5,1.5,10],[1515569400000,1,2,0.5,1.5]]`))
	_ = zw.Close()
	runRawCases(t, "json.gz", []rawCase{
		{"not gzip", []byte(`[[1515569100000,1,2,0.5,1.5,10]]`), 0, "", ErrCorrupt, "not a gzip file"},
		{"truncated", gz.Bytes()[:gz.Len()/2], 0, "", ErrCorrupt, "truncated gzip"},
		{"row with 5 fields", badRow.Bytes(), 2, "volume", ErrCorrupt, "row has 5 fields"},
	})
}

// arrowFile writes columns as an Arrow IPC (feather) file.
func arrowFile(t testing.TB, fields []arrow.Field, cols []arrow.Array, compress bool) []byte {
	t.Helper()
	schema := arrow.NewSchema(fields, nil)
	var buf bytes.Buffer
	opts := []ipc.Option{ipc.WithSchema(schema)}
	if compress {
		opts = append(opts, ipc.WithLZ4())
	}
	w, err := ipc.NewFileWriter(&buf, opts...)
	if err != nil {
		t.Fatal(err)
	}
	rec := array.NewRecordBatch(schema, cols, int64(cols[0].Len()))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func float64Array(vals []float64, valid []bool) arrow.Array {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, valid)
	return b.NewArray()
}

func timestampArray(unit arrow.TimeUnit, vals []int64) arrow.Array {
	b := array.NewTimestampBuilder(memory.DefaultAllocator, &arrow.TimestampType{Unit: unit, TimeZone: "UTC"})
	defer b.Release()
	for _, v := range vals {
		b.Append(arrow.Timestamp(v))
	}
	return b.NewArray()
}

var ohlcvFields = []arrow.Field{
	{Name: "date", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "open", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "high", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "low", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "close", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "volume", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}

func TestFeatherColumnTypes(t *testing.T) {
	t.Parallel()
	ms := []int64{1515569100000, 1515569400000, 1515569700000}
	price := []float64{1, 1, 1}
	want := &sdk.Frame{Pair: "ETH/BTC", Timeframe: "5m", Time: ms, Open: price, High: price, Low: price, Close: price, Volume: []float64{3, 0, 7}}
	scaled := func(mul, div int64) []int64 {
		out := make([]int64, len(ms))
		for i, v := range ms {
			out[i] = v * mul / div
		}
		return out
	}
	intVol := array.NewInt64Builder(memory.DefaultAllocator)
	intVol.AppendValues([]int64{3, 0, 7}, nil)
	intVolArr := intVol.NewArray()
	msInt := array.NewInt64Builder(memory.DefaultAllocator)
	msInt.AppendValues(ms, nil)
	msIntArr := msInt.NewArray()
	for _, tt := range []struct {
		name  string
		date  arrow.Array
		dtype arrow.DataType
		vol   arrow.Array
	}{
		{"ns", timestampArray(arrow.Nanosecond, scaled(1_000_000, 1)), &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, nil},
		{"us", timestampArray(arrow.Microsecond, scaled(1000, 1)), &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil},
		{"ms", timestampArray(arrow.Millisecond, ms), &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, nil},
		{"s", timestampArray(arrow.Second, scaled(1, 1000)), &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}, nil},
		{"int64 ms date, integer volume", msIntArr, arrow.PrimitiveTypes.Int64, intVolArr},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fields := append([]arrow.Field(nil), ohlcvFields...)
			fields[0].Type = tt.dtype
			vol := tt.vol
			if vol == nil {
				vol = float64Array(want.Volume, nil)
			} else {
				fields[5].Type = vol.DataType()
			}
			p := float64Array(price, nil)
			data := arrowFile(t, fields, []arrow.Array{tt.date, p, p, p, p, vol}, true)
			got, err := ReadFeather(bytes.NewReader(data), int64(len(data)), "mem", "ETH/BTC", "5m")
			if err != nil {
				t.Fatal(err)
			}
			assertSameFrame(t, got, want)
		})
	}
}

func TestBadFeather(t *testing.T) {
	t.Parallel()
	real, err := readTestFile(filepath.Join(testdataDir, "XRP_ETH-5m.feather"))
	if err != nil {
		t.Fatal(err)
	}
	ms := []int64{1515569100000, 1515569400000, 1515569700000}
	p := float64Array([]float64{1, 1, 1}, nil)
	date := timestampArray(arrow.Millisecond, ms)
	fields := append([]arrow.Field(nil), ohlcvFields...)
	fields[0].Type = date.DataType()
	noVolume := arrowFile(t, fields[:5], []arrow.Array{date, p, p, p, p}, false)
	nullClose := arrowFile(t, fields, []arrow.Array{date, p, p, p, float64Array([]float64{1, 1, 1}, []bool{true, true, false}), p}, true)
	strField := append(append([]arrow.Field(nil), fields[:5]...), arrow.Field{Name: "volume", Type: arrow.BinaryTypes.String})
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	sb.AppendValues([]string{"1", "2", "3"}, nil)
	strVolume := arrowFile(t, strField, []arrow.Array{date, p, p, p, p, sb.NewArray()}, false)
	lb := array.NewListBuilder(memory.DefaultAllocator, arrow.PrimitiveTypes.Int64)
	for range 3 {
		lb.Append(true)
	}
	nested := arrowFile(t, append(append([]arrow.Field(nil), fields...), arrow.Field{Name: "extra", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)}),
		[]arrow.Array{date, p, p, p, p, p, lb.NewArray()}, false)
	corruptBody := bytes.Clone(real)
	for i := 200; i < len(corruptBody)/2; i++ {
		corruptBody[i] = 0xA5
	}
	runRawCases(t, "feather", []rawCase{
		{"empty file", nil, 0, "", ErrEmpty, "empty file"},
		{"cut in half", real[:len(real)/2], 0, "", ErrCorrupt, "truncated feather file"},
		{"last byte missing", real[:len(real)-1], 0, "", ErrCorrupt, "truncated"},
		{"overwritten body", corruptBody, 0, "", ErrCorrupt, "corrupt feather file"},
		{"not arrow", []byte("date,open,high,low,close,volume\n"), 0, "", ErrCorrupt, "not a feather"},
		{"feather v1", append([]byte("FEA1"), make([]byte, 100)...), 0, "", ErrCorrupt, "feather v1"},
		{"missing volume", noVolume, 0, "volume", ErrMissingColumn, `missing column "volume"`},
		{"null close", nullClose, 3, "close", nil, "close is null"},
		{"string volume", strVolume, 0, "volume", ErrCorrupt, "unsupported type"},
		{"nested column", nested, 0, "", ErrCorrupt, "nested"},
	})
}

func TestBadParquet(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	f := genFrame(100, "5m", 5)
	if err := WriteParquet(&buf, f); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	runRawCases(t, "parquet", []rawCase{
		{"empty file", nil, 0, "", ErrEmpty, "empty file"},
		{"cut in half", data[:len(data)/2], 0, "", ErrCorrupt, "corrupt parquet file"},
		{"not parquet", []byte("hello world, this is not parquet"), 0, "", ErrCorrupt, "corrupt parquet file"},
	})
}

func TestRowErrorFormat(t *testing.T) {
	t.Parallel()
	e := &RowError{File: "data/binance/ETH_BTC-5m.csv", Row: 17, Column: "high", Msg: "high 0.051 is below low 0.052"}
	if got := e.Error(); got != "data/binance/ETH_BTC-5m.csv: row 17: high 0.051 is below low 0.052" {
		t.Errorf("Error() = %q", got)
	}
	e = &RowError{File: "x.feather", Err: ErrCorrupt}
	if got := e.Error(); got != "x.feather: "+ErrCorrupt.Error() || !errors.Is(e, ErrCorrupt) {
		t.Errorf("Error() = %q", got)
	}
	if !strings.Contains((&RowError{}).Error(), "invalid") {
		t.Error("empty RowError has no message")
	}
}

// TestCheckCandleKinds checks the one candle rule set for each kind,
// including the rules that changed when the importer's, the downloader's
// and the readers' checks became CheckCandle: a negative volume fails
// every kind (indicative series accepted it before), and mark and index
// prices must be positive with low <= high (only the downloader required
// that before).
func TestCheckCandleKinds(t *testing.T) {
	t.Parallel()
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name          string
		o, h, l, c, v float64
		want          [3]string // message for Candles, Indicative, IndicativePrices; "" = fine
	}{
		{"good", 10, 11, 9, 10, 1, [3]string{"", "", ""}},
		{"zero volume", 10, 11, 9, 10, 0, [3]string{"", "", ""}},
		{"open above high", 12, 11, 9, 10, 0, [3]string{"open 12 is outside the candle's low-high range [9, 11]", "", ""}},
		{"close below low", 10, 11, 9, 8, 0, [3]string{"close 8 is outside the candle's low-high range [9, 11]", "", ""}},
		{"low above high", 10, 9, 11, 10, 0, [3]string{"high 9 is below low 11", "", "high 9 is below low 11"}},
		{"zero price", 0, 11, 9, 10, 0, [3]string{"open 0 is not a positive price", "", "open 0 is not a positive price"}},
		{"negative price", 1, 2, -1, 1, 0, [3]string{"low -1 is not a positive price", "", "low -1 is not a positive price"}},
		{"negative volume", 10, 11, 9, 10, -1, [3]string{"volume -1 is negative", "volume -1 is negative", "volume -1 is negative"}},
		{"NaN volume", 10, 11, 9, 10, nan, [3]string{"volume is NaN", "volume is NaN", "volume is NaN"}},
		{"infinite high", 10, inf, 9, 10, 0, [3]string{"high is +Inf", "high is +Inf", "high is +Inf"}},
		{"NaN close", 10, 11, 9, nan, 0, [3]string{"close is NaN", "close is NaN", "close is NaN"}},
	}
	for _, tt := range tests {
		for i, kind := range []Kind{Candles, Indicative, IndicativePrices} {
			col, msg := CheckCandle(kind, tt.o, tt.h, tt.l, tt.c, tt.v)
			if msg != tt.want[i] {
				t.Errorf("%s as %v: %q (column %q), want %q", tt.name, kind, msg, col, tt.want[i])
			}
			if (msg == "") != (col == "") {
				t.Errorf("%s as %v: column %q with message %q", tt.name, kind, col, msg)
			}
			// Validate applies the same rules.
			f := &sdk.Frame{Time: []int64{0}, Open: []float64{tt.o}, High: []float64{tt.h}, Low: []float64{tt.l}, Close: []float64{tt.c}, Volume: []float64{tt.v}}
			if err := ValidateKind(f, "x", kind); (err == nil) != (msg == "") {
				t.Errorf("%s as %v: ValidateKind says %v, CheckCandle %q", tt.name, kind, err, msg)
			}
		}
	}
}
