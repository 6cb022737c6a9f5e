package datafile

import (
	"os"
	"testing"
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
