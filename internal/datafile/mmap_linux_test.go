package datafile

import (
	"math"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// mapRange is MapRange failing t on an error, closed when t ends.
func mapRange(t *testing.T, path string, q Query) *Mapped {
	t.Helper()
	m, err := MapRange(path, q)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func TestMapRangeViewsStoredFile(t *testing.T) {
	f := genFrame(5000, "1m", 7)
	path := writeStoredFile(t, t.TempDir(), f)
	for name, r := range rangeCases(f) {
		q := Query{Pair: f.Pair, Timeframe: f.Timeframe, Start: r[0], End: r[1]}
		want, err := LoadRange(path, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m := mapRange(t, path, q)
		if !views(m.mem, m.Frame) {
			t.Fatalf("%s: the columns are copied, not views of the mapped file", name)
		}
		assertSameFrame(t, m.Frame, want)
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if m.Frame != nil || m.mem != nil {
			t.Fatal("Close left the frame or the mapping")
		}
		if err := m.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
}

func TestMapRangeCopiesOtherLayouts(t *testing.T) {
	f := genFrame(300, "1m", 3)
	nan := copyFrame(f)
	nan.Volume[10] = math.NaN()
	secs := copyFrame(f)
	for i := range secs.Time {
		secs.Time[i] /= 1000
	}
	dir := t.TempDir()
	cases := map[string]struct {
		data []byte
		q    Query
	}{
		"lz4":                    {featherBytes(t, f, true), Query{}},
		"record batches crossed": {featherBatches(t, f, 100), Query{Start: f.Time[50], End: f.Time[150]}},
		"dates in seconds":       {featherUnit(t, secs, arrow.Second), Query{}},
		"indicative NaN volume":  {featherBytes(t, nan, false), Query{Kind: Indicative}},
	}
	for name, c := range cases {
		path := writeRaw(t, dir, name+".feather", c.data)
		q := c.q
		q.Pair, q.Timeframe = f.Pair, f.Timeframe
		want, err := LoadRange(path, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m := mapRange(t, path, q)
		if m.mem != nil {
			t.Errorf("%s: the file stays mapped", name)
		}
		assertSameFrame(t, m.Frame, want)
	}
	// Within one record batch of several, the columns are views.
	path := writeRaw(t, dir, "batches.feather", featherBatches(t, f, 100))
	if m := mapRange(t, path, Query{Timeframe: f.Timeframe, Start: f.Time[110], End: f.Time[190]}); !views(m.mem, m.Frame) || m.Frame.Time[0] != f.Time[110] {
		t.Error("rows within one record batch are not views")
	}
}

func TestMapRangeErrors(t *testing.T) {
	f := genFrame(100, "1m", 5)
	bad := copyFrame(f)
	bad.High[40] = bad.Low[40] / 2
	path := writeStoredFile(t, t.TempDir(), bad)
	_, want := LoadRange(path, Query{Timeframe: "1m"})
	_, err := MapRange(path, Query{Timeframe: "1m"})
	if err == nil || want == nil || err.Error() != want.Error() {
		t.Fatalf("MapRange: %v, LoadRange: %v", err, want)
	}
	wantRowError(t, err, path, 41, "", "")
}

// The store replaces files by renaming a new one over them: a mapping
// keeps reading the file it mapped.
func TestMapRangeFileReplacedWhileMapped(t *testing.T) {
	old := genFrame(2000, "1m", 1)
	dir := t.TempDir()
	path := writeStoredFile(t, dir, old)
	q := Query{Pair: old.Pair, Timeframe: "1m"}
	m := mapRange(t, path, q)
	if !views(m.mem, m.Frame) {
		t.Fatal("the columns are not views of the mapped file")
	}

	repl := genFrame(2000, "1m", 2)
	tmp := writeRaw(t, dir, "new.tmp", featherBytes(t, repl, false))
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if repl.Close[0] == old.Close[0] {
		t.Fatal("the replacement has the same candles")
	}
	assertSameFrame(t, m.Frame, old)
	assertSameFrame(t, mapRange(t, path, q).Frame, repl)
}
