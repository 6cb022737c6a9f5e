package datafile

import (
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
