package market

import (
	"path/filepath"
	"testing"
)

// FuzzKeyOfPath: reading a key back from any file path never panics, and a
// key read back names the same file again.
func FuzzKeyOfPath(f *testing.F) {
	for _, s := range []string{
		"data/binance/BTC_USDT-5m.feather", "data/binance/futures/XRP_USDT_USDT-1h-mark.feather",
		"binance/ETH_BTC-1M.json.gz", "x/-5m.csv", "a/b/c_d_e-1w-funding_rate.parquet", "futures/A_B-1h-futures.json",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		k, ok := KeyOfPath(path)
		if !ok {
			return
		}
		if !k.Timeframe.Valid() || k.Pair == "" {
			t.Fatalf("%q gave key %+v", path, k)
		}
		// Freqtrade's file name of the key is the name we read it from.
		name := filepath.Base(filepath.Clean(path))
		if got := k.baseName(); got != name[:len(got)] {
			t.Fatalf("%q: key %+v names %q", path, k, got)
		}
	})
}
