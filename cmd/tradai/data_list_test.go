package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// TestDataListBesideACorruptFile: `tradai data list` lists the readable
// series, names the corrupt file on a line of its own, and exits non-zero.
func TestDataListBesideACorruptFile(t *testing.T) {
	dir := t.TempDir()
	s, err := market.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &sdk.Frame{Pair: "BTC/USDT", Timeframe: "1h"}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := range 5 {
		f.Time = append(f.Time, t0+int64(i)*3_600_000)
		f.Open, f.High, f.Low, f.Close, f.Volume = append(f.Open, 10), append(f.High, 11), append(f.Low, 9), append(f.Close, 10), append(f.Volume, 1)
	}
	if _, err := s.Append(t.Context(), market.Key{Exchange: "binance", Pair: "BTC/USDT", Timeframe: "1h"}, f); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "binance", "ETH_USDT-1h.json"), []byte(`[[1704067200000,1,2`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := execute(t, "data", "list", "--datadir", dir)
	if err == nil || !strings.Contains(err.Error(), "1 stored file could not be read") {
		t.Errorf("err %v", err)
	}
	if !strings.Contains(out, "BTC/USDT") || !strings.Contains(out, "unreadable: binance/ETH_USDT-1h.json: ") || !strings.Contains(out, "1 series") {
		t.Errorf("output:\n%s", out)
	}
	out, errOut, _ := execute(t, "data", "list", "--datadir", dir, "--json")
	var list []market.Series
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || !strings.Contains(errOut, "unreadable: binance/ETH_USDT-1h.json") {
		t.Errorf("--json: %v\n%s\nstderr: %s", err, out, errOut)
	}
	// A name that leaves the data folder is refused, naming the problem.
	for _, ex := range []string{"../x", "/etc", ".."} {
		if _, _, err := execute(t, "data", "list", "--datadir", dir, "--exchange", ex); !errors.Is(err, market.ErrInvalidName) {
			t.Errorf("--exchange %q: %v", ex, err)
		}
	}
}
