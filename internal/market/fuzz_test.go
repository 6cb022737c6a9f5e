package market

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
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

// FuzzKeyValidate: a key that passes Validate names files inside the data
// folder, in its exchange's folder, whatever the exchange and pair hold;
// one that fails says which field with an InvalidNameError.
func FuzzKeyValidate(f *testing.F) {
	for _, s := range [][2]string{
		{"binance", "BTC/USDT"}, {"binance", "BTC/USDT:USDT"}, {"..", "BTC/USDT"}, {"../x", "a"},
		{"/etc", "passwd"}, {"a\x00b", "c"}, {"binance", `..\..\x`}, {"binance", "../../../etc/passwd"},
		{".", "x/y"}, {"gate.io", "A.B/C"}, {"x", "\xff"},
	} {
		f.Add(s[0], s[1])
	}
	const datadir = "/data"
	f.Fuzz(func(t *testing.T, exchange, pair string) {
		for _, typ := range []CandleType{Spot, Mark} {
			k := Key{Exchange: exchange, Pair: pair, Timeframe: "5m", Type: typ}
			err := k.Validate()
			if err != nil {
				var ne *InvalidNameError
				if !errors.As(err, &ne) || ne.Field == "" {
					t.Fatalf("%q %q: %v is not an InvalidNameError", exchange, pair, err)
				}
				continue
			}
			exDir := filepath.Join(datadir, exchange)
			if filepath.Dir(exDir) != datadir {
				t.Fatalf("exchange %q is not a folder of the data folder: %s", exchange, exDir)
			}
			path := filepath.Join(k.dir(datadir), k.baseName()+".feather")
			if rel, err := filepath.Rel(exDir, path); err != nil || strings.HasPrefix(rel, "..") || filepath.Dir(path) != k.dir(datadir) {
				t.Fatalf("%q %q names %s, outside %s", exchange, pair, path, exDir)
			}
			if strings.ContainsFunc(path, unicode.IsControl) || strings.HasPrefix(filepath.Base(path), ".") {
				t.Fatalf("%q %q names %q", exchange, pair, path)
			}
		}
	})
}
