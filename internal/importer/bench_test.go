package importer

import (
	"bytes"
	"testing"
)

const benchRows = 1_000_000

// 2024-01-01T00:00:00Z
const jan2024 = 1_704_067_200_000

func BenchmarkBinanceCSV(b *testing.B) {
	data := genBinance(benchRows, "1m", jan2024, false, 1)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	opt := Options{Pair: "BTC/USDT", Timeframe: "1m"}
	for b.Loop() {
		res, err := Binance(bytes.NewReader(data), int64(len(data)), "BTCUSDT-1m-2024-01.csv", opt)
		if err != nil {
			b.Fatal(err)
		}
		if res.Frame.Len() != benchRows {
			b.Fatalf("%d rows", res.Frame.Len())
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkBinanceZipMicros(b *testing.B) {
	data := makeZip(b, "BTCUSDT-1m-2025-01.csv", genBinance(benchRows, "1m", jan2024, true, 1))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := Binance(bytes.NewReader(data), int64(len(data)), "BTCUSDT-1m-2025-01.zip", Options{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Frame.Len() != benchRows {
			b.Fatalf("%d rows", res.Frame.Len())
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkCSV reads the same generated Binance rows with the generic
// reader, columns by number, times by magnitude.
func BenchmarkCSV(b *testing.B) {
	data := genBinance(benchRows, "1m", jan2024, false, 1)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	m := Mapping{Time: "1", Open: "2", High: "3", Low: "4", Close: "5", Volume: "6", NoHeader: true}
	opt := Options{Pair: "BTC/USDT", Timeframe: "1m"}
	for b.Loop() {
		res, err := CSV(bytes.NewReader(data), "klines.csv", m, opt)
		if err != nil {
			b.Fatal(err)
		}
		if res.Frame.Len() != benchRows {
			b.Fatalf("%d rows", res.Frame.Len())
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
