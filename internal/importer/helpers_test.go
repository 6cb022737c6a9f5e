package importer

import (
	"archive/zip"
	"bytes"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/sdk"
)

// genBinance writes n Binance kline rows of timeframe tf (not "1M")
// starting at start (ms), with times in µs when micros is set.
func genBinance(n int, tf sdk.Timeframe, start int64, micros bool, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	step := tf.Millis()
	b := make([]byte, 0, n*160)
	price := 42000.0
	scale := int64(1)
	if micros {
		scale = 1000
	}
	for i := range n {
		t := start + int64(i)*step
		o := price
		c := o * (1 + (rng.Float64()-0.5)*0.002)
		h := max(o, c) * (1 + rng.Float64()*0.001)
		l := min(o, c) * (1 - rng.Float64()*0.001)
		v := rng.Float64() * 100
		price = c
		b = strconv.AppendInt(b, t*scale, 10)
		for _, x := range []float64{o, h, l, c, v} {
			b = append(b, ',')
			b = strconv.AppendFloat(b, x, 'f', 8, 64)
		}
		b = append(b, ',')
		b = strconv.AppendInt(b, (t+step)*scale-1, 10)
		b = append(b, ',')
		b = strconv.AppendFloat(b, v*price, 'f', 8, 64)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(rng.IntN(3000)), 10)
		b = append(b, ',')
		b = strconv.AppendFloat(b, v/2, 'f', 8, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, v/2*price, 'f', 8, 64)
		b = append(b, ",0\n"...)
	}
	return b
}

// makeZip builds a zip archive of the named members (in the order given).
func makeZip(t testing.TB, members ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(members); i += 2 {
		w, err := zw.Create(members[i].(string))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(members[i+1].([]byte)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func importBinance(data []byte, name string, opt Options) (*Result, error) {
	return Binance(bytes.NewReader(data), int64(len(data)), name, opt)
}

// wantRowError checks that err is a *datafile.RowError for file, row and
// column whose text contains every one of parts.
func wantRowError(t *testing.T, err error, file string, row int, column string, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one at %s row %d column %q", file, row, column)
	}
	var re *datafile.RowError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *datafile.RowError", err, err)
	}
	if re.File != file || re.Row != row || re.Column != column {
		t.Errorf("error at file %q row %d column %q, want %q row %d column %q (%v)", re.File, re.Row, re.Column, file, row, column, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

// sameFrame reports the first difference between two frames' candles.
func sameFrame(t *testing.T, got, want *sdk.Frame) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("%d candles, want %d", got.Len(), want.Len())
	}
	for i := range got.Len() {
		if got.Time[i] != want.Time[i] || got.Open[i] != want.Open[i] || got.High[i] != want.High[i] ||
			got.Low[i] != want.Low[i] || got.Close[i] != want.Close[i] || got.Volume[i] != want.Volume[i] {
			t.Fatalf("candle %d differs", i)
		}
	}
	if got.Pair != want.Pair || got.Timeframe != want.Timeframe {
		t.Fatalf("series %s %s, want %s %s", got.Pair, got.Timeframe, want.Pair, want.Timeframe)
	}
}
