package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// TestDataListIsTheStoreListing: GET /api/v1/data shows the store's
// listing field for field, as it did when it served market's own types.
func TestDataListIsTheStoreListing(t *testing.T) {
	key := market.Key{Exchange: "binance", Pair: "ETH/BTC", Timeframe: sdk.Timeframe("5m"), Type: market.Futures}
	l := market.Listing{
		Series: []market.Series{{
			Key: key, File: "binance/futures/ETH_BTC-5m-futures.feather", First: 1, Last: 1_000_000, Count: 3,
			Gaps: []market.Gap{{From: 300_000, To: 900_000}}, Missing: 2, Size: 4096,
			Updated: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Checksum: "sha256:00",
		}},
		Unreadable: []market.Unreadable{{Key: key, File: "binance/futures/x.feather", Error: "truncated"}},
	}
	// Every field is set, so a field the API drops shows below.
	for _, v := range []any{l.Series[0], l.Series[0].Key, l.Unreadable[0]} {
		rv := reflect.ValueOf(v)
		for i := range rv.NumField() {
			if rv.Field(i).IsZero() {
				t.Fatalf("%T.%s is not set in this test", v, rv.Type().Field(i).Name)
			}
		}
	}
	got := dataList(l)
	for _, c := range []struct{ store, api any }{{l.Series, got.Series}, {l.Unreadable, got.Unreadable}} {
		want, err := json.Marshal(c.store)
		if err != nil {
			t.Fatal(err)
		}
		have, err := json.Marshal(c.api)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(have, want) {
			t.Errorf("the API shows\n%s\nfor the store's\n%s", have, want)
		}
	}
	empty, err := json.Marshal(dataList(market.Listing{}))
	if err != nil {
		t.Fatal(err)
	}
	if string(empty) != `{"series":[],"unreadable":[]}` {
		t.Errorf("empty listing: %s", empty)
	}
}
