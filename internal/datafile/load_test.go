package datafile

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/sdk"
)

type candle struct {
	date                    string
	open, high, low, close_ float64
	volume                  float64
}

func candleAt(f *sdk.Frame, i int) candle {
	return candle{fmtTime(f.Time[i]), f.Open[i], f.High[i], f.Low[i], f.Close[i], f.Volume[i]}
}

// TestRealFiles loads the copies of Freqtrade's test data and checks their
// row counts and first and last candles.
func TestRealFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file        string
		pair        string
		tf          sdk.Timeframe
		rows        int
		first, last candle
	}{
		{"UNITTEST_BTC-1m.json", "UNITTEST/BTC", "1m", 13681,
			candle{"2017-11-04T23:02:00Z", 0.00162008, 0.00162008, 0.00162008, 0.00162008, 108.14853839},
			candle{"2017-11-14T22:59:00Z", 0.00270001, 0.00270002, 0.00270001, 0.00270002, 1.94577668}},
		{"UNITTEST_BTC-1m.feather", "UNITTEST/BTC", "1m", 13681,
			candle{"2017-11-04T23:02:00Z", 0.00162008, 0.00162008, 0.00162008, 0.00162008, 108.14853839},
			candle{"2017-11-14T22:59:00Z", 0.00270001, 0.00270002, 0.00270001, 0.00270002, 1.94577668}},
		{"UNITTEST_BTC-5m.feather", "UNITTEST/BTC", "5m", 5760,
			candle{"2018-01-10T04:55:00Z", 0.0984, 0.0994766, 0.09828605, 0.0994766, 1820.54447418},
			candle{"2018-01-30T04:50:00Z", 0.10440995, 0.10441058, 0.10400025, 0.10441057000000001, 31.94851561}},
		{"XRP_ETH-5m.feather", "XRP/ETH", "5m", 706,
			candle{"2019-10-11T00:00:00Z", 0.00141342, 0.00141658, 0.00141192, 0.00141192, 3478},
			candle{"2019-10-13T11:15:00Z", 0.00152609, 0.00152871, 0.00152362, 0.00152787, 11786}},
		{"futures/XRP_USDT_USDT-5m-futures.feather", "XRP/USDT:USDT", "5m", 1999,
			candle{"2021-11-15T00:00:00Z", 1.1893, 1.1954, 1.1891, 1.1941, 9.2890435e+06},
			candle{"2021-11-21T22:30:00Z", 1.0733, 1.0737, 1.0711, 1.0713, 765844.7}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			f, err := Load(filepath.Join(testdataDir, tt.file), tt.pair, tt.tf)
			if err != nil {
				t.Fatal(err)
			}
			if f.Pair != tt.pair || f.Timeframe != tt.tf {
				t.Errorf("pair/timeframe = %s %s", f.Pair, f.Timeframe)
			}
			if f.Len() != tt.rows {
				t.Errorf("rows = %d, want %d", f.Len(), tt.rows)
			}
			if got := candleAt(f, 0); got != tt.first {
				t.Errorf("first candle = %+v, want %+v", got, tt.first)
			}
			if got := candleAt(f, f.Len()-1); got != tt.last {
				t.Errorf("last candle = %+v, want %+v", got, tt.last)
			}
			if f.HasSignals() || f.EnterTag != nil {
				t.Error("plain OHLCV file produced signal columns")
			}
		})
	}
}

// TestJSONAndFeatherAgree checks that Freqtrade's JSON and feather copies of
// the same data load alike. They are not bit-identical: about 20% of the
// feather file's prices are one ULP off the JSON's decimal values (float
// noise from the conversion that produced it, e.g. 0.0016200000000000001 for
// 0.00162), so prices are compared to within one ULP.
func TestJSONAndFeatherAgree(t *testing.T) {
	t.Parallel()
	j, err := Load(filepath.Join(testdataDir, "UNITTEST_BTC-1m.json"), "UNITTEST/BTC", "1m")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Load(filepath.Join(testdataDir, "UNITTEST_BTC-1m.feather"), "UNITTEST/BTC", "1m")
	if err != nil {
		t.Fatal(err)
	}
	if i := firstDiff(f.Time, j.Time); i >= 0 || f.Len() != j.Len() {
		t.Fatalf("dates differ at row %d", i+1)
	}
	differ := 0
	for _, c := range [][2][]float64{{f.Open, j.Open}, {f.High, j.High}, {f.Low, j.Low}, {f.Close, j.Close}, {f.Volume, j.Volume}} {
		for i := range c[0] {
			a, b := math.Float64bits(c[0][i]), math.Float64bits(c[1][i])
			if a != b {
				differ++
			}
			if a-b+1 > 2 { // more than one ULP apart (unsigned wrap-around)
				t.Fatalf("row %d: feather %v, json %v", i+1, c[0][i], c[1][i])
			}
		}
	}
	t.Logf("%d of %d values differ by one ULP", differ, 5*f.Len())
}

// TestAllFormatsAgree writes the real files in every format (feather
// compressed and not, parquet, json, json.gz, csv) and checks that each
// loads back identical to the original.
func TestAllFormatsAgree(t *testing.T) {
	t.Parallel()
	sources := []struct {
		file string
		pair string
		tf   sdk.Timeframe
	}{
		{"UNITTEST_BTC-1m.json", "UNITTEST/BTC", "1m"},
		{"UNITTEST_BTC-1m.feather", "UNITTEST/BTC", "1m"},
		{"UNITTEST_BTC-5m.feather", "UNITTEST/BTC", "5m"},
		{"XRP_ETH-5m.feather", "XRP/ETH", "5m"},
	}
	for _, src := range sources {
		orig, err := Load(filepath.Join(testdataDir, src.file), src.pair, src.tf)
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range allFormats {
			t.Run(src.file+"/"+string(format), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				path := writeFile(t, dir, FileName(src.pair, src.tf, string(format)), orig)
				got, err := Load(path, src.pair, src.tf)
				if err != nil {
					t.Fatal(err)
				}
				assertSameFrame(t, got, orig)
			})
		}
		t.Run(src.file+"/feather-uncompressed", func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := WriteFeather(&buf, orig, false); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFeather(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "mem", src.pair, src.tf)
			if err != nil {
				t.Fatal(err)
			}
			assertSameFrame(t, got, orig)
		})
	}
}

// TestRoundTripMultiBatch round-trips a frame larger than one feather record
// batch and one that uses millisecond fractions.
func TestRoundTripMultiBatch(t *testing.T) {
	t.Parallel()
	orig := genFrame(3*featherBatchRows+17, "1m", 1)
	orig.Time[0] -= 1 // a millisecond fraction survives every format
	for _, format := range allFormats {
		t.Run(string(format), func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), FileName(orig.Pair, orig.Timeframe, string(format)), orig)
			got, err := Load(path, orig.Pair, orig.Timeframe)
			if err != nil {
				t.Fatal(err)
			}
			assertSameFrame(t, got, orig)
		})
	}
}

// TestRoundTripSignals checks that CSV, feather and parquet keep the signal
// and tag columns.
func TestRoundTripSignals(t *testing.T) {
	t.Parallel()
	orig := genFrame(500, "5m", 2)
	orig.EnsureSignals()
	for i := range orig.Len() {
		orig.EnterLong[i] = i%7 == 0
		orig.ExitLong[i] = i%11 == 0
		orig.EnterShort[i] = i%13 == 0
		orig.ExitShort[i] = i%17 == 0
	}
	orig.SetEnterTag(0, "rsi, oversold")
	orig.SetEnterTag(7, `quote "q"`)
	orig.SetEnterTag(14, " leading space")
	orig.SetEnterTag(21, "plain")
	for _, format := range []Format{CSV, Feather, Parquet} {
		t.Run(string(format), func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), FileName(orig.Pair, orig.Timeframe, string(format)), orig)
			got, err := Load(path, orig.Pair, orig.Timeframe)
			if err != nil {
				t.Fatal(err)
			}
			assertSameFrame(t, got, orig)
		})
	}
	t.Run("signals without tags", func(t *testing.T) {
		t.Parallel()
		o := copyFrame(orig)
		o.EnterTag = nil
		var buf bytes.Buffer
		if err := WriteCSV(&buf, o); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.SplitN(buf.String(), "\n", 2)[0], "enter_tag") {
			t.Error("enter_tag column written for a frame without tags")
		}
		got, err := ReadCSV(&buf, "mem.csv", o.Pair, o.Timeframe)
		if err != nil {
			t.Fatal(err)
		}
		assertSameFrame(t, got, o)
	})
}

func TestReadCSVVariants(t *testing.T) {
	t.Parallel()
	ms := func(s string) int64 {
		v, ok := ParseISO([]byte(s))
		if !ok {
			t.Fatalf("ParseISO(%q) failed", s)
		}
		return v
	}
	tests := []struct {
		name string
		csv  string
		tf   sdk.Timeframe
		want []int64
		sig  bool // expect signal columns
		tags []string
	}{
		{"iso Z", "date,open,high,low,close,volume\n2018-01-10T07:25:00Z,1,2,0.5,1.5,10\n2018-01-10T07:30:00Z,1,2,0.5,1.5,0\n", "5m",
			[]int64{1515569100000, 1515569400000}, false, nil},
		{"pandas +00:00", "date,open,high,low,close,volume\n2018-01-10 07:25:00+00:00,1,2,0.5,1.5,10\n", "5m", []int64{1515569100000}, false, nil},
		{"naive is UTC", "date,open,high,low,close,volume\n2018-01-10 07:25:00,1,2,0.5,1.5,10\n", "5m", []int64{1515569100000}, false, nil},
		{"offset", "date,open,high,low,close,volume\n2018-01-10T09:25:00+02:00,1,2,0.5,1.5,10\n2018-01-10T02:30:00-0500,1,2,0.5,1.5,10\n", "5m",
			[]int64{1515569100000, 1515569400000}, false, nil},
		{"date only daily", "Date,Open,High,Low,Close,Volume\n2018-01-10,1,2,0.5,1.5,10\n2018-01-11,1,2,0.5,1.5,10\n2018-01-15,1,2,0.5,1.5,10\n", "1d",
			[]int64{ms("2018-01-10"), ms("2018-01-11"), ms("2018-01-15")}, false, nil},
		{"epoch ms", "date,open,high,low,close,volume\n1515569100000,1,2,0.5,1.5,10\n", "5m", []int64{1515569100000}, false, nil},
		{"any order, extra columns, BOM, CRLF", "\ufeffvolume,Close,junk,LOW,high,open,DATE\r\n10,1.5,x,0.5,2,1,2018-01-10T07:25:00.000Z\r\n", "5m",
			[]int64{1515569100000}, false, nil},
		{"signals", "date,open,high,low,close,volume,enter_long,exit_short,enter_tag\n" +
			"2018-01-10T07:25:00Z,1,2,0.5,1.5,10,1,,tag a\n2018-01-10T07:30:00Z,1,2,0.5,1.5,10,False,true,\n", "5m",
			[]int64{1515569100000, 1515569400000}, true, []string{"tag a", ""}},
		{"quoted", "date,open,high,low,close,volume\n\"2018-01-10 07:25:00\",\"1\",2,0.5,1.5, 10\n", "5m", []int64{1515569100000}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := ReadCSV(strings.NewReader(tt.csv), "x.csv", "A/B", tt.tf)
			if err != nil {
				t.Fatal(err)
			}
			if i := firstDiff(f.Time, tt.want); i >= 0 {
				t.Fatalf("dates %v, want %v", f.Time, tt.want)
			}
			if f.Open[0] != 1 || f.High[0] != 2 || f.Low[0] != 0.5 || f.Close[0] != 1.5 || f.Volume[0] != 10 {
				t.Errorf("values %v %v %v %v %v", f.Open[0], f.High[0], f.Low[0], f.Close[0], f.Volume[0])
			}
			if f.HasSignals() != tt.sig {
				t.Errorf("HasSignals = %v", f.HasSignals())
			}
			if tt.sig && !(f.EnterLong[0] && !f.EnterLong[1] && !f.ExitShort[0] && f.ExitShort[1] && !f.ExitLong[0] && !f.EnterShort[1]) {
				t.Errorf("signals %v %v %v %v", f.EnterLong, f.ExitLong, f.EnterShort, f.ExitShort)
			}
			if i := firstDiff(f.EnterTag, tt.tags); i >= 0 {
				t.Errorf("tags %q, want %q", f.EnterTag, tt.tags)
			}
		})
	}
}

func TestISODates(t *testing.T) {
	t.Parallel()
	good := map[string]int64{
		"1970-01-01":                     0,
		"1970-01-01T00:00:00.001Z":       1,
		"1969-12-31T23:59:59.999Z":       -1,
		"2000-02-29T12:00":               951825600000,
		"2018-01-10 07:25:00 UTC":        1515569100000,
		"2018-01-10T07:25:00.123456789Z": 1515569100123,
		"1677-09-22":                     time.Date(1677, 9, 22, 0, 0, 0, 0, time.UTC).UnixMilli(),
		"2262-04-11":                     time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC).UnixMilli(),
		"2024-02-29T23:59:59+14:00":      time.Date(2024, 2, 29, 9, 59, 59, 0, time.UTC).UnixMilli(),
	}
	for s, want := range good {
		got, ok := ParseISO([]byte(s))
		if !ok || got != want {
			t.Errorf("ParseISO(%q) = %d, %v; want %d", s, got, ok, want)
		}
		if ok && got >= minMillis {
			if back, _ := ParseISO(appendISO(nil, got)); back != got {
				t.Errorf("appendISO(%d) = %s does not round-trip", got, appendISO(nil, got))
			}
		}
	}
	for _, s := range []string{"", "2018", "2018-13-01", "2018-02-30", "2018-01-10T25:00", "2018-01-10T07:25:00+", "2018-01-10T07:25:00Zx", "2018/01/10", "2018-01-10T", "2018-01-10T07:25:00."} {
		if v, ok := ParseISO([]byte(s)); ok {
			t.Errorf("ParseISO(%q) = %d, want failure", s, v)
		}
	}
}

// TestExampleData loads the quick-start's bundled data and checks it.
func TestExampleData(t *testing.T) {
	t.Parallel()
	dir := "../../examples/data"
	for _, pair := range []string{"ETH/BTC", "LTC/BTC", "XMR/BTC", "ZEC/BTC", "DASH/BTC"} {
		t.Run(pair, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, "binance", FileName(pair, "5m", "feather"))
			f, err := Load(path, pair, "5m")
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(f, path); err != nil {
				t.Fatal(err)
			}
			if f.Len() < 5700 {
				t.Errorf("only %d candles", f.Len())
			}
			t.Logf("%s: %d candles, %s .. %s", path, f.Len(), fmtTime(f.Time[0]), fmtTime(f.Time[f.Len()-1]))
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "x.txt"), "A/B", "5m"); err == nil || !strings.Contains(err.Error(), "unknown data file format") {
		t.Errorf("unknown extension: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.feather"), "A/B", "5m"); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(filepath.Join(testdataDir, "XRP_ETH-5m.feather"), "A/B", "7m"); err == nil {
		t.Error("invalid timeframe accepted")
	}
	// Loading a 1m file as 5m is caught by the spacing check.
	_, err := Load(filepath.Join(testdataDir, "UNITTEST_BTC-1m.feather"), "UNITTEST/BTC", "5m")
	wantRowError(t, err, filepath.Join(testdataDir, "UNITTEST_BTC-1m.feather"), 2, "date", "shorter timeframe")
	// Upper-case extensions are recognised.
	if f, err := FormatOf("A-5m.JSON.GZ"); err != nil || f != JSONGz {
		t.Errorf("FormatOf = %v, %v", f, err)
	}
}

// TestJSONFastFloat checks the JSON scanner's number fast path against
// strconv.ParseFloat.
func TestJSONFastFloat(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := []string{"0", "-0", "1", "0.1", "1.", "1e5", "1E-5", "-2.5e+3", "123456789012345678", "9007199254740993",
		"0.00162008", "108.14853839", "1e22", "1e23", "1e-22", "1e-23", "0.30000000000000004", "1234567890123456789", "12345678901234567890"}
	for range 100000 {
		v := rng.Float64() * math.Pow(10, float64(rng.IntN(20)-10))
		inputs = append(inputs, strconv.FormatFloat(v, 'g', -1, 64), strconv.FormatFloat(v, 'f', rng.IntN(12), 64))
	}
	for _, in := range inputs {
		want, err := strconv.ParseFloat(in, 64)
		if err != nil {
			t.Fatal(err)
		}
		s := &jsonScanner{b: []byte(in)}
		got, ok := s.fastFloat()
		if !ok {
			continue
		}
		if math.Float64bits(got) != math.Float64bits(want) || s.i != len(in) {
			t.Fatalf("fastFloat(%q) = %v (pos %d), want %v", in, got, s.i, want)
		}
	}
	s := &jsonScanner{b: []byte("12x")}
	if _, ok := s.fastFloat(); ok || s.i != 0 {
		t.Error("fastFloat accepted 12x")
	}
}

// TestISORoundTrip compares appendISO and ParseISO with package time.
func TestISORoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		ms := minMillis + rng.Int64N(maxMillis-minMillis)
		if rng.IntN(2) == 0 {
			ms -= ms % 60000
		}
		want := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
		want = strings.Replace(want, ".000Z", "Z", 1)
		if got := string(appendISO(nil, ms)); got != want {
			t.Fatalf("appendISO(%d) = %s, want %s", ms, got, want)
		}
		if back, ok := ParseISO([]byte(want)); !ok || back != ms {
			t.Fatalf("ParseISO(%s) = %d, %v; want %d", want, back, ok, ms)
		}
	}
}

// TestWriteFeatherCompression checks that compress writes LZ4_FRAME buffers
// (as pandas does) and that both variants start and end with Arrow's magic.
func TestWriteFeatherCompression(t *testing.T) {
	t.Parallel()
	f := genFrame(5000, "5m", 8)
	var plain, lz4 bytes.Buffer
	if err := WriteFeather(&plain, f, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteFeather(&lz4, f, true); err != nil {
		t.Fatal(err)
	}
	lz4Magic := []byte{0x04, 0x22, 0x4d, 0x18}
	if bytes.Contains(plain.Bytes(), lz4Magic) || !bytes.Contains(lz4.Bytes(), lz4Magic) {
		t.Error("LZ4 frames missing from the compressed file or present in the plain one")
	}
	if lz4.Len() >= plain.Len() {
		t.Errorf("compressed %d bytes >= plain %d bytes", lz4.Len(), plain.Len())
	}
	for _, b := range [][]byte{plain.Bytes(), lz4.Bytes()} {
		if !bytes.HasPrefix(b, []byte("ARROW1")) || !bytes.HasSuffix(b, []byte("ARROW1")) {
			t.Error("missing Arrow file magic")
		}
	}
}
