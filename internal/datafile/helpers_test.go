package datafile

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tradai/tradai/sdk"
)

// testdataDir holds copies of Freqtrade's test data.
const testdataDir = "../../testdata/binance"

// genFrame returns n valid candles of timeframe tf: a random walk starting
// 2020-01-01 with a few gaps.
func genFrame(n int, tf sdk.Timeframe, seed uint64) *sdk.Frame {
	rng := rand.New(rand.NewPCG(seed, 42))
	f := &sdk.Frame{Pair: "BTC/USDT", Timeframe: tf}
	f.Time = make([]int64, n)
	f.Open, f.High, f.Low, f.Close, f.Volume = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	t := int64(1577836800000)
	price := 7000.0
	for i := range n {
		if rng.IntN(1000) == 0 {
			t += tf.Millis() * int64(1+rng.IntN(5)) // gap
		}
		f.Time[i] = t
		t += tf.Millis()
		o := price
		c := o * math.Exp(rng.NormFloat64()*0.002)
		h := max(o, c) * (1 + rng.Float64()*0.001)
		l := min(o, c) * (1 - rng.Float64()*0.001)
		// Round like exchange prices so text formats are realistic.
		round := func(v float64) float64 { return math.Round(v*100) / 100 }
		o, c, h, l = round(o), round(c), round(h), round(l)
		f.Open[i], f.High[i], f.Low[i], f.Close[i] = o, max(h, o, c), min(l, o, c), c
		f.Volume[i] = math.Round(rng.ExpFloat64()*1e6) / 1e4
		price = c
	}
	return f
}

// writers writes a frame in each format.
var writers = map[Format]func(io.Writer, *sdk.Frame) error{
	Feather: func(w io.Writer, f *sdk.Frame) error { return WriteFeather(w, f, true) },
	Parquet: WriteParquet,
	JSON:    WriteJSON,
	JSONGz:  WriteJSONGz,
	CSV:     WriteCSV,
}

var allFormats = []Format{Feather, Parquet, JSON, JSONGz, CSV}

// writeFile writes f to dir/name with the writer for its extension.
func writeFile(t testing.TB, dir, name string, f *sdk.Frame) string {
	t.Helper()
	format, err := FormatOf(name)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writers[format](&buf, f); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeRaw(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// assertSameFrame fails unless got and want hold the same candles, signals
// and tags (bit for bit).
func assertSameFrame(t testing.TB, got, want *sdk.Frame) {
	t.Helper()
	if got.Pair != want.Pair || got.Timeframe != want.Timeframe {
		t.Errorf("pair/timeframe = %s %s, want %s %s", got.Pair, got.Timeframe, want.Pair, want.Timeframe)
	}
	if got.Len() != want.Len() {
		t.Fatalf("got %d candles, want %d", got.Len(), want.Len())
	}
	if i := firstDiff(got.Time, want.Time); i >= 0 {
		t.Fatalf("date differs at row %d: %d, want %d", i+1, got.Time[i], want.Time[i])
	}
	for _, c := range []struct {
		name      string
		got, want []float64
	}{{"open", got.Open, want.Open}, {"high", got.High, want.High}, {"low", got.Low, want.Low}, {"close", got.Close, want.Close}, {"volume", got.Volume, want.Volume}} {
		if i := firstDiff(c.got, c.want); i >= 0 {
			t.Fatalf("%s differs at row %d: %v, want %v", c.name, i+1, c.got[i], c.want[i])
		}
	}
	for _, c := range []struct {
		name      string
		got, want []bool
	}{{"enter_long", got.EnterLong, want.EnterLong}, {"exit_long", got.ExitLong, want.ExitLong}, {"enter_short", got.EnterShort, want.EnterShort}, {"exit_short", got.ExitShort, want.ExitShort}} {
		if !slices.Equal(c.got, c.want) || (c.got == nil) != (c.want == nil) {
			t.Fatalf("%s differs: got %d values, want %d", c.name, len(c.got), len(c.want))
		}
	}
	if !slices.Equal(got.EnterTag, want.EnterTag) || (got.EnterTag == nil) != (want.EnterTag == nil) {
		t.Fatalf("enter_tag differs: %q, want %q", got.EnterTag, want.EnterTag)
	}
}

func firstDiff[T comparable](a, b []T) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// copyFrame returns a deep copy of f.
func copyFrame(f *sdk.Frame) *sdk.Frame {
	c := *f
	c.Time, c.Open, c.High, c.Low, c.Close, c.Volume = slices.Clone(f.Time), slices.Clone(f.Open), slices.Clone(f.High), slices.Clone(f.Low), slices.Clone(f.Close), slices.Clone(f.Volume)
	c.EnterLong, c.ExitLong, c.EnterShort, c.ExitShort = slices.Clone(f.EnterLong), slices.Clone(f.ExitLong), slices.Clone(f.EnterShort), slices.Clone(f.ExitShort)
	c.EnterTag = slices.Clone(f.EnterTag)
	return &c
}

// wantRowError checks that err is a *RowError for file, row and column (row
// 0 and column "" accept any) and that its message names file and row.
func wantRowError(t testing.TB, err error, file string, row int, column, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want an error at row %d", row)
	}
	var re *RowError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *RowError", err, err)
	}
	msg := err.Error()
	if re.File != file || !strings.HasPrefix(msg, file+": ") {
		t.Errorf("error %q does not name file %s", msg, file)
	}
	if row > 0 && (re.Row != row || !strings.Contains(msg, ": row "+strconv.Itoa(row)+": ")) {
		t.Errorf("error %q: row %d, want row %d", msg, re.Row, row)
	}
	if column != "" && re.Column != column {
		t.Errorf("error %q: column %q, want %q", msg, re.Column, column)
	}
	if contains != "" && !strings.Contains(msg, contains) {
		t.Errorf("error %q does not contain %q", msg, contains)
	}
}

func readTestFile(path string) ([]byte, error) { return os.ReadFile(path) }

func sdkTF(s string) sdk.Timeframe { return sdk.Timeframe(s) }
