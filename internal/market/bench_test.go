package market

import (
	"context"
	"testing"
)

const benchCandles = 1_000_000

// BenchmarkStoreLoad measures the read target: a stored
// 1,000,000-candle series loaded into the engine's columns through the
// store's Load (warm page cache).
func BenchmarkStoreLoad(b *testing.B) {
	s, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	k := key("1m")
	if _, err := s.Append(context.Background(), k, walk(benchCandles, "1m", t0, 1)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		f, err := s.Load(context.Background(), k, Range{})
		if err != nil || f.Len() != benchCandles {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchCandles)*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
}

// BenchmarkStoreAppend measures appending a day of 1m candles to a stored
// 1,000,000-candle series (the series is rewritten atomically each time).
func BenchmarkStoreAppend(b *testing.B) {
	all := walk(benchCandles+1440*20, "1m", t0, 2)
	s, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	k := key("1m")
	if _, err := s.Append(context.Background(), k, all.Slice(0, benchCandles)); err != nil {
		b.Fatal(err)
	}
	next := benchCandles
	b.ResetTimer()
	for b.Loop() {
		if next+1440 > all.Len() {
			b.Fatal("benchmark ran out of candles")
		}
		if _, err := s.Append(context.Background(), k, all.Slice(next, next+1440)); err != nil {
			b.Fatal(err)
		}
		next += 1440
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}
