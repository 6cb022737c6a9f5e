package download

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodePage decodes a page of 1000 spot candles as Binance sends
// it.
func BenchmarkDecodePage(b *testing.B) {
	series := genSeries("BTC/USDT", "1m", listing, 1000, 1)
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range series.Len() {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `[%d,"%.8f","%.8f","%.8f","%.8f","%.8f",%d,"0",10,"0","0","0"]`, series.Time[i], series.Open[i], series.High[i],
			series.Low[i], series.Close[i], series.Volume[i], series.Time[i]+59_999)
	}
	sb.WriteByte(']')
	body := []byte(sb.String())
	src, err := NewBinance(nil, nil, nil, BinanceOptions{})
	if err != nil {
		b.Fatal(err)
	}
	k := spotKey("BTC/USDT", "1m")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.decode(k, "/api/v3/klines", body, listing, listing+1000*minute); err != nil {
			b.Fatal(err)
		}
	}
}
