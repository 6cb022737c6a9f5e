package binance

import (
	"errors"
	"testing"

	rest "github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/fixed"
)

// FuzzParseUserEvent: any user data event the venue sends is a fill with
// a symbol, a side and a positive quantity, the key's expiry, another
// event, or an undecodable-event error; never a panic.
func FuzzParseUserEvent(f *testing.F) {
	f.Add([]byte(`{"e":"executionReport","E":1,"s":"BTCUSDT","c":"x","S":"SELL","o":"STOP_LOSS","x":"TRADE","X":"FILLED","i":7,"l":"0.5","z":"0.5","L":"99.5","n":"0.0497","N":"USDT","T":2,"t":11,"I":3,"w":false,"m":false,"M":true,"Y":"49.75"}`))
	f.Add([]byte(`{"e":"executionReport","x":"NEW","X":"NEW","s":"BTCUSDT","S":"BUY"}`))
	f.Add([]byte(`{"e":"listenKeyExpired","E":1,"listenKey":"k"}`))
	f.Add([]byte(`{"e":"outboundAccountPosition","B":[{"a":"USDT","f":"1","l":"0"}]}`))
	f.Add([]byte(`{"e":"executionReport","x":"TRADE","l":"-1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, fill, expired, err := parseUserEvent(b)
		switch {
		case err != nil:
			if !errors.Is(err, rest.ErrUndecodable) || fill || expired {
				t.Fatalf("%s: %v (fill %v, expired %v)", b, err, fill, expired)
			}
		case fill:
			if expired || tr.Symbol == "" || tr.Qty <= 0 || (tr.Side != "BUY" && tr.Side != "SELL") {
				t.Fatalf("%s: fill %+v", b, tr)
			}
		}
	})
}

// The documented executionReport of a trade becomes the fill it reports.
func TestParseUserEventFill(t *testing.T) {
	b := []byte(`{"e":"executionReport","E":1,"s":"BTCUSDT","c":"x","S":"SELL","o":"STOP_LOSS","x":"TRADE","X":"FILLED","i":7,"l":"0.5","z":"0.5","L":"99.5","n":"0.0497","N":"USDT","T":2,"t":11,"I":3,"w":false,"m":true,"M":false,"Y":"49.75"}`)
	tr, fill, expired, err := parseUserEvent(b)
	if err != nil || !fill || expired {
		t.Fatalf("fill %v expired %v: %v", fill, expired, err)
	}
	if tr.ID != 11 || tr.OrderID != 7 || tr.Side != "SELL" || tr.Qty != fixed.MustParse("0.5") || tr.Price != fixed.MustParse("99.5") ||
		tr.QuoteQty != fixed.MustParse("49.75") || tr.Commission != fixed.MustParse("0.0497") || tr.CommissionAsset != "USDT" || !tr.Maker || tr.Time.UnixMilli() != 2 {
		t.Fatalf("%+v", tr)
	}
}
