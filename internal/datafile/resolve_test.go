package datafile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileName(t *testing.T) {
	t.Parallel()
	tests := []struct{ pair, tf, ext, want string }{
		{"BTC/USDT", "5m", "feather", "BTC_USDT-5m.feather"},
		{"BTC/USDT:USDT", "1h", ".json.gz", "BTC_USDT_USDT-1h.json.gz"},
		{"ETH/BTC", "1d", "csv", "ETH_BTC-1d.csv"},
		{"AAPL", "1d", "parquet", "AAPL-1d.parquet"},
	}
	for _, tt := range tests {
		if got := FileName(tt.pair, sdkTF(tt.tf), tt.ext); got != tt.want {
			t.Errorf("FileName(%q, %q, %q) = %q, want %q", tt.pair, tt.tf, tt.ext, got, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	touch := func(rel string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exFeather := touch("binance/ETH_BTC-5m.feather")
	touch("binance/ETH_BTC-5m.json") // lower priority than feather
	exJSON := touch("binance/LTC_BTC-5m.json")
	rootCSV := touch("AAPL-1d.csv")                      // no exchange folder
	rootGz := touch("LTC_BTC-5m.json.gz")                // shadowed by the exchange folder
	futures := touch("binance/BTC_USDT_USDT-1h.parquet") // futures pair name
	ftFutures := touch("binance/futures/XRP_USDT_USDT-5m-futures.feather")
	if err := os.MkdirAll(filepath.Join(dir, "binance", "DIR_BTC-5m.feather"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		exchange, pair, tf, want string
	}{
		{"binance", "ETH/BTC", "5m", exFeather},
		{"binance", "LTC/BTC", "5m", exJSON},
		{"", "LTC/BTC", "5m", rootGz},
		{"binance", "AAPL", "1d", rootCSV},
		{"", "AAPL", "1d", rootCSV},
		{"binance", "BTC/USDT:USDT", "1h", futures},
		{"binance", "XRP/USDT:USDT", "5m", ftFutures},
	}
	for _, tt := range tests {
		got, err := Resolve(dir, tt.exchange, tt.pair, sdkTF(tt.tf))
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q, %q, %q) = %q, %v; want %q", tt.exchange, tt.pair, tt.tf, got, err, tt.want)
		}
	}
	// Not found: the error lists every path tried; a directory is not a file.
	for _, pair := range []string{"ETH/BTC", "DIR/BTC"} {
		tf := sdkTF("1h")
		if pair == "DIR/BTC" {
			tf = "5m"
		}
		_, err := Resolve(dir, "binance", pair, tf)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Resolve(%s) error = %v, want ErrNotFound", pair, err)
		}
		for _, p := range Candidates(dir, "binance", pair, tf) {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not list %s", err, p)
			}
		}
	}
	if got := len(Candidates(dir, "binance", "ETH/BTC", "5m")); got != 10 {
		t.Errorf("%d candidates, want 10", got)
	}
	if _, err := Resolve(dir, "binance", "ETH/BTC", "7m"); err == nil {
		t.Error("invalid timeframe accepted")
	}
}
