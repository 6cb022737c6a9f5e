package datafile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tradai/tradai/sdk"
)

const benchCandles = 1_000_000

// benchLoad writes a generated 1,000,000-candle file in format and
// benchmarks Load on it.
func benchLoad(b *testing.B, format Format) {
	f := genFrame(benchCandles, "1m", 7)
	path := writeFile(b, b.TempDir(), FileName(f.Pair, f.Timeframe, string(format)), f)
	if st, err := os.Stat(path); err == nil {
		b.SetBytes(st.Size())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got, err := Load(path, f.Pair, f.Timeframe)
		if err != nil {
			b.Fatal(err)
		}
		if got.Len() != benchCandles {
			b.Fatalf("%d candles", got.Len())
		}
	}
	b.ReportMetric(float64(benchCandles)*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
}

func BenchmarkLoadFeather(b *testing.B) { benchLoad(b, Feather) }
func BenchmarkLoadParquet(b *testing.B) { benchLoad(b, Parquet) }
func BenchmarkLoadJSON(b *testing.B)    { benchLoad(b, JSON) }
func BenchmarkLoadJSONGz(b *testing.B)  { benchLoad(b, JSONGz) }
func BenchmarkLoadCSV(b *testing.B)     { benchLoad(b, CSV) }

func BenchmarkValidate(b *testing.B) {
	f := genFrame(benchCandles, "1m", 7)
	for b.Loop() {
		if err := Validate(f, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchCandles)*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
}

// writeStored writes a generated 1,000,000-candle 1m series the way the
// market store does (uncompressed feather) and returns its path and frame.
func writeStored(b *testing.B) (string, *sdk.Frame) {
	f := genFrame(benchCandles, "1m", 7)
	path := filepath.Join(b.TempDir(), FileName(f.Pair, f.Timeframe, string(Feather)))
	var buf bytes.Buffer
	if err := WriteFeather(&buf, f, false); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path, f
}

// benchStored benchmarks LoadRange, or MapRange and Close when mapped, on
// a stored series for rows [lo, hi).
func benchStored(b *testing.B, lo, hi int, mapped bool) {
	path, f := writeStored(b)
	q := Query{Pair: f.Pair, Timeframe: f.Timeframe, Kind: Candles}
	if lo > 0 {
		q.Start = f.Time[lo]
	}
	if hi < f.Len() {
		q.End = f.Time[hi]
	}
	b.SetBytes(int64(hi-lo) * 48)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var got *sdk.Frame
		var err error
		var m *Mapped
		if mapped {
			if m, err = MapRange(path, q); err == nil {
				got = m.Frame
			}
		} else {
			got, err = LoadRange(path, q)
		}
		if err != nil {
			b.Fatal(err)
		}
		if got.Len() != hi-lo {
			b.Fatalf("%d candles, want %d", got.Len(), hi-lo)
		}
		if m != nil {
			if err := m.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(hi-lo)*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
}

// BenchmarkLoadStored loads a whole stored 1,000,000-candle series.
func BenchmarkLoadStored(b *testing.B) { benchStored(b, 0, benchCandles, false) }

// BenchmarkMapStored maps a whole stored 1,000,000-candle series (as a
// backtest reads it), checks it and unmaps it.
func BenchmarkMapStored(b *testing.B) { benchStored(b, 0, benchCandles, true) }

// BenchmarkLoadStoredRange10 loads 10% (100,000 candles) from the middle of
// a stored 1,000,000-candle series.
func BenchmarkLoadStoredRange10(b *testing.B) {
	benchStored(b, benchCandles/2, benchCandles/2+benchCandles/10, false)
}
