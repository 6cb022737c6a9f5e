package download

import (
	"testing"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/market"
)

// FuzzDecodeKlines: whatever an exchange answers, decoding a klines page
// gives an error or candles that the store accepts: valid, on the grid and
// inside the requested range.
func FuzzDecodeKlines(f *testing.F) {
	const start, end = 1704067200000, 1704067200000 + 10*3_600_000
	f.Add([]byte(`[[1704067200000,"100.5","101","99.5","100.8","12.5",1704070799999,"1250",10,"6","600","0"]]`), false)
	f.Add([]byte(`[[1704067200000,"100.5","101","99.5","100.8","12.5"],[1704070800000,"100.8","102","100","101","3"]]`), false)
	f.Add([]byte(`[[1704067200000,"-0.0001","0.0002","-0.0003","0.0001","0"]]`), true)
	f.Add([]byte(`[[1704067200001,"1","1","1","1","1"]]`), false)
	f.Add([]byte(`[[1704067200000,"1e400","1","1","1","1"]]`), false)
	f.Add([]byte(`[[1704067200000,"NaN","1","1","1","1"]]`), true)
	f.Add([]byte(`{"code":-1121,"msg":"Invalid symbol."}`), false)
	f.Add([]byte(`[[1704067200000,"1","1"`), false)
	b, err := NewBinance(nil, nil, nil, BinanceOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, premium bool) {
		k := market.Key{Exchange: "binance", Pair: "BTC/USDT", Timeframe: "1h", Type: market.Spot}
		kind := datafile.Candles
		if premium {
			k.Pair, k.Type, kind = "BTC/USDT:USDT", market.PremiumIndex, datafile.Indicative
		}
		fr, err := b.decode(k, "/api/v3/klines", body, start, end)
		if err != nil || fr.Len() == 0 {
			return
		}
		if err := datafile.ValidateKind(fr, "page", kind); err != nil {
			t.Fatalf("decoded page fails validation: %v\nbody %s", err, body)
		}
		for _, ts := range fr.Time {
			if !k.Timeframe.OnGrid(ts) || ts < start || ts >= end {
				t.Fatalf("candle at %d off the grid or outside [%d, %d)", ts, start, end)
			}
		}
	})
}
