package market

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/datafile"
)

func TestValidateNames(t *testing.T) {
	t.Parallel()
	for _, ex := range []string{"binance", "binanceusdm", "coinbase_advanced", "gate.io", "Kraken-2"} {
		if err := ValidateExchange(ex); err != nil {
			t.Errorf("exchange %q refused: %v", ex, err)
		}
	}
	for _, ex := range []string{"", ".", "..", "../x", "../../../../etc", "/etc", "a/b", `a\b`, ".hidden", "bin\x00ance", "bin\nance", "\xff\xfe", strings.Repeat("x", 101)} {
		err := ValidateExchange(ex)
		var ne *InvalidNameError
		if !errors.As(err, &ne) || ne.Field != "exchange" || !errors.Is(err, ErrInvalidName) {
			t.Errorf("exchange %q: %v, want an InvalidNameError for exchange", ex, err)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\x00\n") {
			t.Errorf("exchange %q: the message carries the raw control character: %q", ex, err)
		}
	}
	for _, c := range []struct {
		k     Key
		field string
	}{
		{Key{Exchange: "binance", Pair: "BTC/USDT", Timeframe: "5m"}, ""},
		{Key{Exchange: "binance", Pair: "BTC/USDT:USDT", Timeframe: "1h", Type: Futures}, ""},
		{Key{Exchange: "../binance", Pair: "BTC/USDT", Timeframe: "5m"}, "exchange"},
		{Key{Exchange: "binance", Pair: "", Timeframe: "5m"}, "pair"},
		{Key{Exchange: "binance", Pair: "BTC\x00/USDT", Timeframe: "5m"}, "pair"},
		{Key{Exchange: "binance", Pair: `..\..\x`, Timeframe: "5m"}, "pair"},
		{Key{Exchange: "binance", Pair: "BTC/USDT", Timeframe: "../5m"}, "timeframe"},
		{Key{Exchange: "binance", Pair: "BTC/USDT", Timeframe: "5m", Type: "../mark"}, "candle_type"},
	} {
		err := c.k.Validate()
		var ne *InvalidNameError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%+v refused: %v", c.k, err)
		case c.field != "" && (!errors.As(err, &ne) || ne.Field != c.field):
			t.Errorf("%+v: %v, want an InvalidNameError for %s", c.k, err, c.field)
		}
	}
}

// TestStoreRefusesNamesOutsideTheDataFolder: an exchange name that leads out
// of the data folder is refused by every store call, which neither lists the
// series found there nor writes an index or lock file there.
func TestStoreRefusesNamesOutsideTheDataFolder(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	outside := filepath.Join(parent, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := datafile.WriteFeather(&buf, walk(12, "5m", t0, 40), false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "BTC_USDT-5m.feather"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(parent, "data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ex := range []string{"../outside", outside, "..", "x/../../outside"} {
		k := Key{Exchange: ex, Pair: "BTC/USDT", Timeframe: "5m"}
		if l, err := s.List(ctx, ex); !errors.Is(err, ErrInvalidName) || len(l.Series) > 0 {
			t.Errorf("List(%q) = %+v, %v; want ErrInvalidName", ex, l, err)
		}
		if _, err := s.Coverage(ctx, k); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Coverage(%q): %v", ex, err)
		}
		if _, err := s.Load(ctx, k, Range{}); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Load(%q): %v", ex, err)
		}
		if _, err := s.Append(ctx, k, walk(3, "5m", t0, 41)); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Append(%q): %v", ex, err)
		}
		if _, err := s.Freshness(ctx, []Key{k}, time.Now(), 0); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Freshness(%q): %v", ex, err)
		}
	}
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the store wrote outside its data folder: %v", names)
	}
	if _, err := os.Stat(filepath.Join(parent, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused calls created the data folder: %v", err)
	}
}

// TestListReportsUnreadable: a corrupt series file is reported beside the
// series that can be read, named relative to the data folder.
func TestListReportsUnreadable(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	mustAppend(t, s, key("1h"), walk(24, "1h", t0, 8))
	mustAppend(t, s, Key{Exchange: "kraken", Pair: "BTC/EUR", Timeframe: "1h"}, walk(3, "1h", t0, 11))
	bad := filepath.Join(s.Dir(), "binance", "ETH_USDT-5m.feather")
	if err := os.WriteFile(bad, []byte("ARROW1\x00\x00 this is not a feather file ARROW1"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ex := range []string{"", "binance"} {
		l, err := s.List(context.Background(), ex)
		if err != nil {
			t.Fatalf("List(%q): %v", ex, err)
		}
		want := 2
		if ex != "" {
			want = 1
		}
		if len(l.Series) != want || len(l.Unreadable) != 1 {
			t.Fatalf("List(%q) = %d series, unreadable %+v; want %d and the corrupt file", ex, len(l.Series), l.Unreadable, want)
		}
		u := l.Unreadable[0]
		if u.File != "binance/ETH_USDT-5m.feather" || u.Pair != "ETH/USDT" || u.Timeframe != "5m" ||
			!strings.Contains(u.Error, "binance/ETH_USDT-5m.feather") || strings.Contains(u.Error, s.Dir()) {
			t.Errorf("unreadable %+v", u)
		}
	}
}
