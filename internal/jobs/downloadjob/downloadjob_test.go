package downloadjob_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/jobs/downloadjob"
)

func TestCheckNamesEveryField(t *testing.T) {
	_, _, err := downloadjob.Request{Exchange: "kraken", Pairs: []string{"ETH/BTC", `ETH\BTC`}, Timeframes: []string{"5m", "7q"}, Timerange: "2024"}.Check("binance")
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *downloadjob.FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("not a field error: %v", e)
		}
		fields = append(fields, fe.Field)
	}
	if got := strings.Join(fields, " "); got != "exchange pairs[1] timeframes[1] timerange" {
		t.Fatalf("fields %q (%v)", got, err)
	}
	keys, rng, err := downloadjob.Request{Exchange: "binance", Pairs: []string{"ETH/BTC", "LTC/BTC"}, Timeframes: []string{"5m", "1h"}, Timerange: "20240101-20240102"}.Check("binance")
	if err != nil || len(keys) != 4 || keys[1].String() != "binance ETH/BTC 1h" || rng.Start != 1704067200000 || rng.End != 1704153600000 {
		t.Fatalf("keys %v, range %+v, %v", keys, rng, err)
	}
}

// FuzzCheck: any request is refused with field errors or gives keys that
// pass the store's checks.
func FuzzCheck(f *testing.F) {
	f.Add("binance", "ETH/BTC", "5m", "20240101-20240102")
	f.Add("binance", "../x", "1M", "-")
	f.Fuzz(func(t *testing.T, exchange, pair, tf, tr string) {
		keys, _, err := downloadjob.Request{Exchange: exchange, Pairs: []string{pair}, Timeframes: []string{tf}, Timerange: tr}.Check("binance")
		if err != nil {
			return
		}
		for _, k := range keys {
			if err := k.Validate(); err != nil {
				t.Fatalf("accepted %v: %v", k, err)
			}
		}
	})
}
