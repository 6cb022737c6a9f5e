package sim

import (
	"errors"
	"testing"

	"github.com/tradai/tradai/internal/fixed"
)

var d = fixed.MustParse

// btcusdt has filters like Binance's BTCUSDT.
func btcusdt() Symbol {
	return Symbol{Name: "BTCUSDT", Base: "BTC", Quote: "USDT", Filters: Filters{
		MinPrice: d("0.01"), MaxPrice: d("1000000"), TickSize: d("0.01"),
		MinQty: d("0.00001"), MaxQty: d("9000"), StepSize: d("0.00001"),
		MarketMaxQty: d("100"),
		MinNotional:  d("5"), ApplyMinToMarket: true, MaxNotional: d("9000000"),
		PercentPriceBySide: PercentPriceBySide{BidUp: d("5"), BidDown: d("0.2"), AskUp: d("5"), AskDown: d("0.2")},
		MaxNumOrders:       200,
	}}
}

type bundle struct {
	e   *Engine
	log *recorder
}

type recorder struct{ events []Event }

func (r *recorder) Record(ev []Event) { r.events = append(r.events, ev...) }

// setup returns an engine trading BTCUSDT at 100 with account "a" holding
// 10000 USDT and 10 BTC.
func setup(t *testing.T, cfg Config) bundle {
	t.Helper()
	rec := &recorder{}
	e, err := New(cfg, []Symbol{btcusdt()}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CreateAccount("a"); err != nil {
		t.Fatal(err)
	}
	for asset, amt := range map[string]string{"USDT": "10000", "BTC": "10"} {
		if _, err := e.Fund(1, "a", asset, d(amt)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.JumpTo("BTCUSDT", 1, d("100")); err != nil {
		t.Fatal(err)
	}
	return bundle{e: e, log: rec}
}

func (b bundle) balance(t *testing.T, asset string) Balance {
	t.Helper()
	bs, err := b.e.Balances("a")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range bs {
		if x.Asset == asset {
			return x
		}
	}
	return Balance{Asset: asset}
}

func (b bundle) place(t *testing.T, r OrderRequest) (Order, []Fill) {
	t.Helper()
	if r.Account == "" {
		r.Account = "a"
	}
	if r.Symbol == "" {
		r.Symbol = "BTCUSDT"
	}
	o, fills, err := b.e.Place(10, r)
	if err != nil {
		t.Fatalf("place %+v: %v", r, err)
	}
	return o, fills
}

func wantBalance(t *testing.T, got Balance, free, locked string) {
	t.Helper()
	if got.Free != d(free) || got.Locked != d(locked) {
		t.Errorf("%s balance = free %v locked %v, want free %s locked %s", got.Asset, got.Free, got.Locked, free, locked)
	}
}

func TestRejections(t *testing.T) {
	lim := func(side Side, qty, price string) OrderRequest {
		return OrderRequest{Side: side, Type: Limit, TimeInForce: GTC, Quantity: d(qty), Price: d(price)}
	}
	for _, tc := range []struct {
		name string
		req  OrderRequest
		code int
		msg  string
	}{
		{"unknown symbol", OrderRequest{Symbol: "XXXYYY", Side: Buy, Type: Market, Quantity: d("1")}, -1121, "Invalid symbol."},
		{"price off the tick", lim(Buy, "1", "99.999"), -1013, "Filter failure: PRICE_FILTER"},
		{"price above max", lim(Buy, "0.001", "1000000.01"), -1013, "Filter failure: PRICE_FILTER"},
		{"stop price off the tick", OrderRequest{Side: Sell, Type: StopLoss, Quantity: d("1"), StopPrice: d("90.001")}, -1013, "Filter failure: PRICE_FILTER"},
		{"quantity off the step", lim(Buy, "0.000015", "90"), -1013, "Filter failure: LOT_SIZE"},
		{"quantity below min", OrderRequest{Side: Buy, Type: Limit, TimeInForce: GTC, Quantity: d("0.000001"), Price: d("90")}, -1013, "Filter failure: LOT_SIZE"},
		{"quantity above max", lim(Buy, "9001", "90"), -1013, "Filter failure: LOT_SIZE"},
		{"market quantity above market max", OrderRequest{Side: Buy, Type: Market, Quantity: d("101")}, -1013, "Filter failure: MARKET_LOT_SIZE"},
		{"buy above 5× the average price", lim(Buy, "0.001", "500.01"), -1013, "Filter failure: PERCENT_PRICE_BY_SIDE"},
		{"buy below 0.2× the average price", lim(Buy, "1", "19.99"), -1013, "Filter failure: PERCENT_PRICE_BY_SIDE"},
		{"sell above 5× the average price", lim(Sell, "0.01", "500.01"), -1013, "Filter failure: PERCENT_PRICE_BY_SIDE"},
		{"stop-limit sell's price below 0.2×", OrderRequest{Side: Sell, Type: StopLossLimit, TimeInForce: GTC, Quantity: d("1"), Price: d("19.99"), StopPrice: d("50")}, -1013, "Filter failure: PERCENT_PRICE_BY_SIDE"},
		{"notional too small", lim(Buy, "0.01", "90"), -1013, "Filter failure: NOTIONAL"},
		{"market notional too small", OrderRequest{Side: Buy, Type: Market, Quantity: d("0.01")}, -1013, "Filter failure: NOTIONAL"},
		{"quote order qty too small", OrderRequest{Side: Buy, Type: Market, QuoteOrderQty: d("4")}, -1013, "Filter failure: NOTIONAL"},
		{"insufficient quote", lim(Buy, "102", "99"), -2010, MsgInsufficientBalance},
		{"insufficient base", lim(Sell, "10.1", "101"), -2010, MsgInsufficientBalance},
		{"market insufficient", OrderRequest{Side: Sell, Type: Market, Quantity: d("10.5")}, -2010, MsgInsufficientBalance},
		{"limit maker crossing", OrderRequest{Side: Buy, Type: LimitMaker, Quantity: d("1"), Price: d("100")}, -2010, MsgWouldTake},
		{"stop loss sell above price", OrderRequest{Side: Sell, Type: StopLoss, Quantity: d("1"), StopPrice: d("100")}, -2010, MsgWouldTrigger},
		{"take profit sell below price", OrderRequest{Side: Sell, Type: TakeProfitLimit, TimeInForce: GTC, Quantity: d("1"), Price: d("99"), StopPrice: d("99")}, -2010, MsgWouldTrigger},
		{"stop loss buy below price", OrderRequest{Side: Buy, Type: StopLossLimit, TimeInForce: GTC, Quantity: d("1"), Price: d("99"), StopPrice: d("99")}, -2010, MsgWouldTrigger},
		{"limit without timeInForce", OrderRequest{Side: Buy, Type: Limit, Quantity: d("1"), Price: d("90")}, -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."},
		{"limit without price", OrderRequest{Side: Buy, Type: Limit, TimeInForce: GTC, Quantity: d("1")}, -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."},
		{"stop without stopPrice", OrderRequest{Side: Sell, Type: StopLoss, Quantity: d("1")}, -1102, "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed."},
		{"market without quantity", OrderRequest{Side: Buy, Type: Market}, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"},
		{"market with both quantities", OrderRequest{Side: Buy, Type: Market, Quantity: d("1"), QuoteOrderQty: d("10")}, -1106, "Parameter 'quoteOrderQty' sent when not required."},
		{"market with price", OrderRequest{Side: Buy, Type: Market, Quantity: d("1"), Price: d("10")}, -1106, "Parameter 'price' sent when not required."},
		{"market with timeInForce", OrderRequest{Side: Buy, Type: Market, Quantity: d("1"), TimeInForce: GTC}, -1114, "TimeInForce parameter sent when not required."},
		{"limit with stopPrice", OrderRequest{Side: Buy, Type: Limit, TimeInForce: GTC, Quantity: d("1"), Price: d("90"), StopPrice: d("80")}, -1106, "Parameter 'stopPrice' sent when not required."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t, DefaultConfig())
			r := tc.req
			r.Account = "a"
			if r.Symbol == "" {
				r.Symbol = "BTCUSDT"
			}
			_, _, err := b.e.Place(10, r)
			if !isError(err, tc.code, tc.msg) {
				t.Fatalf("Place = %v, want code %d %q", err, tc.code, tc.msg)
			}
			wantBalance(t, b.balance(t, "USDT"), "10000", "0")
			wantBalance(t, b.balance(t, "BTC"), "10", "0")
		})
	}
}

func TestLimitRestsLocksAndCancels(t *testing.T) {
	b := setup(t, DefaultConfig())
	o, fills := b.place(t, OrderRequest{Side: Buy, Type: Limit, TimeInForce: GTC, Quantity: d("0.5"), Price: d("90.01"), ClientOrderID: "mine"})
	if o.Status != StatusNew || len(fills) != 0 || o.ClientOrderID != "mine" || !o.Working() {
		t.Fatalf("order = %+v, fills %v", o, fills)
	}
	wantBalance(t, b.balance(t, "USDT"), "9954.995", "45.005")
	if _, _, err := b.e.Place(11, OrderRequest{Account: "a", Symbol: "BTCUSDT", Side: Buy, Type: Limit, TimeInForce: GTC, Quantity: d("0.5"), Price: d("90"), ClientOrderID: "mine"}); !isError(err, -2010, MsgDuplicateOrder) {
		t.Fatalf("duplicate client order id: %v", err)
	}
	c, err := b.e.Cancel(12, "a", "BTCUSDT", 0, "mine")
	if err != nil || c.Status != StatusCanceled || c.UpdateTime != 12 {
		t.Fatalf("cancel = %+v, %v", c, err)
	}
	wantBalance(t, b.balance(t, "USDT"), "10000", "0")
	if _, err := b.e.Cancel(13, "a", "BTCUSDT", o.ID, ""); !IsCode(err, -2011) {
		t.Fatalf("second cancel: %v", err)
	}
	got, err := b.e.Order("a", "BTCUSDT", 0, "mine")
	if err != nil || got.Status != StatusCanceled {
		t.Fatalf("query after cancel = %+v, %v", got, err)
	}
	if _, err := b.e.Cancel(13, "nobody", "BTCUSDT", o.ID, ""); !IsCode(err, -2015) {
		t.Fatalf("cancel for an unknown account: %v", err)
	}
	if _, err := b.e.Order("a", "BTCUSDT", 999, ""); !IsCode(err, -2013) {
		t.Fatalf("query unknown: %v", err)
	}
	// The client order id is free again once the order is closed.
	b.place(t, OrderRequest{Side: Buy, Type: Limit, TimeInForce: GTC, Quantity: d("0.5"), Price: d("90"), ClientOrderID: "mine"})
}

func TestTakersFillAtTheTakerPriceWithFeesInTheReceivedAsset(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Spread = d("0.002")    // ask = 100.10, bid = 99.90
	cfg.Slippage = d("0.0005") // taker buys at 100.15, sells at 99.85
	b := setup(t, cfg)
	if bid, ask, _ := b.e.Quote("BTCUSDT"); bid != d("99.9") || ask != d("100.1") {
		t.Fatalf("quote = %v/%v", bid, ask)
	}
	// A marketable limit buy takes at the taker price, not its limit.
	o, fills := b.place(t, OrderRequest{Side: Buy, Type: Limit, TimeInForce: GTC, Quantity: d("1"), Price: d("105")})
	if o.Status != StatusFilled || len(fills) != 1 || fills[0].Price != d("100.15") || fills[0].Maker {
		t.Fatalf("limit buy = %+v %+v", o, fills)
	}
	if fills[0].Commission != d("0.001") || fills[0].CommissionAsset != "BTC" || o.CumQuote != d("100.15") {
		t.Fatalf("fee = %+v", fills[0])
	}
	wantBalance(t, b.balance(t, "BTC"), "10.999", "0")
	wantBalance(t, b.balance(t, "USDT"), "9899.85", "0")
	// A market sell takes at the bid less slippage; the fee is in USDT.
	o, fills = b.place(t, OrderRequest{Side: Sell, Type: Market, Quantity: d("2")})
	if o.Status != StatusFilled || fills[0].Price != d("99.85") || fills[0].QuoteQty != d("199.7") || fills[0].Commission != d("0.1997") || fills[0].CommissionAsset != "USDT" {
		t.Fatalf("market sell = %+v %+v", o, fills)
	}
	wantBalance(t, b.balance(t, "USDT"), "10099.3503", "0")
	// quoteOrderQty buys as much as the amount pays for, on the step grid.
	o, fills = b.place(t, OrderRequest{Side: Buy, Type: Market, QuoteOrderQty: d("50")})
	if o.ExecutedQty != d("0.49925") || o.CumQuote != d("49.99988750") || o.OrigQuoteQty != d("50") || len(fills) != 1 {
		t.Fatalf("quote market buy = %+v %+v", o, fills)
	}
}

func TestCandleReplayLowBeforeHigh(t *testing.T) {
	b := setup(t, DefaultConfig())
	if err := b.e.CreateAccount("b"); err != nil {
		t.Fatal(err)
	}
	b.e.Fund(1, "b", "BTC", d("1"))
	buy, _ := b.place(t, OrderRequest{Side: Buy, Type: Limit, TimeInForce: GTC, Quantity: d("1"), Price: d("95")})
	sell, _ := b.place(t, OrderRequest{Account: "b", Side: Sell, Type: Limit, TimeInForce: GTC, Quantity: d("1"), Price: d("105")})
	fills, err := b.e.ReplayCandle("BTCUSDT", Candle{Time: 60_000, Open: d("100"), High: d("106"), Low: d("94"), Close: d("100"), Volume: d("50")}, 60_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(fills) != 2 || fills[0].OrderID != buy.ID || fills[1].OrderID != sell.ID {
		t.Fatalf("fills = %+v", fills)
	}
	// Resting orders fill as makers at their own price: the buy at the
	// low (a third into the candle), the sell at the high (two thirds).
	if fills[0].Price != d("95") || !fills[0].Maker || fills[0].Time != 80_000 || fills[1].Price != d("105") || fills[1].Time != 100_000 {
		t.Fatalf("fills = %+v", fills)
	}
	if p, _ := b.e.Price("BTCUSDT"); p != d("100") {
		t.Fatalf("last price after the candle = %v", p)
	}
	wantBalance(t, b.balance(t, "BTC"), "10.999", "0")
	wantBalance(t, b.balance(t, "USDT"), "9905", "0")
}

func TestStops(t *testing.T) {
	for _, tc := range []struct {
		name      string
		req       OrderRequest
		candle    Candle
		wantPrice string
		wantState Status
	}{
		{"stop loss sell triggers at its stop on a continuous move",
			OrderRequest{Side: Sell, Type: StopLoss, Quantity: d("1"), StopPrice: d("95")},
			Candle{Open: d("99"), High: d("101"), Low: d("90"), Close: d("92")}, "95", StatusFilled},
		{"stop loss sell in a gap fills at the open",
			OrderRequest{Side: Sell, Type: StopLoss, Quantity: d("1"), StopPrice: d("95")},
			Candle{Open: d("90"), High: d("91"), Low: d("89"), Close: d("90")}, "90", StatusFilled},
		{"take profit sell triggers at the high",
			OrderRequest{Side: Sell, Type: TakeProfit, Quantity: d("1"), StopPrice: d("104")},
			Candle{Open: d("100"), High: d("106"), Low: d("99"), Close: d("100")}, "104", StatusFilled},
		{"stop loss buy above",
			OrderRequest{Side: Buy, Type: StopLoss, Quantity: d("1"), StopPrice: d("103")},
			Candle{Open: d("100"), High: d("106"), Low: d("99"), Close: d("100")}, "103", StatusFilled},
		{"take profit buy below",
			OrderRequest{Side: Buy, Type: TakeProfit, Quantity: d("1"), StopPrice: d("97")},
			Candle{Open: d("100"), High: d("101"), Low: d("96"), Close: d("100")}, "97", StatusFilled},
		{"stop loss limit sell: triggers at the low, limit above fills later at the high",
			OrderRequest{Side: Sell, Type: StopLossLimit, TimeInForce: GTC, Quantity: d("1"), StopPrice: d("95"), Price: d("98")},
			Candle{Open: d("99"), High: d("101"), Low: d("94"), Close: d("96")}, "98", StatusFilled},
		{"stop loss limit sell: triggered, never back to its limit, rests",
			OrderRequest{Side: Sell, Type: StopLossLimit, TimeInForce: GTC, Quantity: d("1"), StopPrice: d("95"), Price: d("98")},
			Candle{Open: d("97"), High: d("97"), Low: d("90"), Close: d("91")}, "", StatusNew},
		{"not reached",
			OrderRequest{Side: Sell, Type: StopLoss, Quantity: d("1"), StopPrice: d("95")},
			Candle{Open: d("99"), High: d("101"), Low: d("96"), Close: d("97")}, "", StatusNew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t, DefaultConfig())
			o, _ := b.place(t, tc.req)
			if o.Working() {
				t.Fatal("a stop order works before its trigger")
			}
			c := tc.candle
			c.Time, c.Volume = 60_000, d("100")
			fills, err := b.e.ReplayCandle("BTCUSDT", c, 60_000)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := b.e.Order("a", "BTCUSDT", o.ID, "")
			if got.Status != tc.wantState {
				t.Fatalf("status = %v, want %v", got.Status, tc.wantState)
			}
			if tc.wantPrice == "" {
				if len(fills) != 0 {
					t.Fatalf("fills = %+v", fills)
				}
				return
			}
			if len(fills) != 1 || fills[0].Price != d(tc.wantPrice) {
				t.Fatalf("fills = %+v, want one at %s", fills, tc.wantPrice)
			}
		})
	}
}

func TestVolumeCapAndTimeInForce(t *testing.T) {
	cfg := DefaultConfig()
	cfg.VolumeShare = d("0.1")
	b := setup(t, cfg)
	candle := func(i int64) Candle {
		return Candle{Time: i * 60_000, Open: d("100"), High: d("101"), Low: d("94"), Close: d("100"), Volume: d("10")}
	}
	if _, err := b.e.OpenCandle("BTCUSDT", candle(1)); err != nil {
		t.Fatal(err)
	}
	// FOK cannot fill 2 with 1 available this candle: expires untouched.
	o, fills := b.place(t, OrderRequest{Side: Buy, Type: Limit, TimeInForce: FOK, Quantity: d("2"), Price: d("100")})
	if o.Status != StatusExpired || len(fills) != 0 {
		t.Fatalf("FOK = %+v %+v", o, fills)
	}
	// IOC fills what the cap allows and expires the rest.
	o, fills = b.place(t, OrderRequest{Side: Buy, Type: Limit, TimeInForce: IOC, Quantity: d("2"), Price: d("100")})
	if o.Status != StatusExpired || o.ExecutedQty != d("1") || len(fills) != 1 {
		t.Fatalf("IOC = %+v %+v", o, fills)
	}
	wantBalance(t, b.balance(t, "USDT"), "9900", "0")
	// A resting order fills 1 per candle.
	o, _ = b.place(t, OrderRequest{Side: Buy, Type: Limit, TimeInForce: GTC, Quantity: d("2.5"), Price: d("95")})
	var states []Status
	for i := int64(2); i <= 4; i++ {
		if _, err := b.e.ReplayCandle("BTCUSDT", candle(i), 60_000); err != nil {
			t.Fatal(err)
		}
		got, _ := b.e.Order("a", "BTCUSDT", o.ID, "")
		states = append(states, got.Status)
	}
	if states[0] != StatusPartiallyFilled || states[1] != StatusPartiallyFilled || states[2] != StatusFilled {
		t.Fatalf("states = %v", states)
	}
	wantBalance(t, b.balance(t, "USDT"), "9662.5", "0")
}

func TestJournal(t *testing.T) {
	b := setup(t, DefaultConfig())
	b.log.events = nil
	b.place(t, OrderRequest{Side: Buy, Type: Market, Quantity: d("1")})
	var kinds []string
	for _, ev := range b.log.events {
		if ev.Kind == EventOrder {
			kinds = append(kinds, ev.Order.Exec.String()+":"+ev.Order.Order.Status.String())
		} else {
			kinds = append(kinds, "balance:"+ev.Balance.Asset)
		}
	}
	want := []string{"NEW:NEW", "TRADE:FILLED", "balance:BTC", "balance:USDT"}
	if len(kinds) != len(want) {
		t.Fatalf("events = %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events = %v, want %v", kinds, want)
		}
	}
}

// isError reports whether err is the engine's *Error with code and msg.
func isError(err error, code int, msg string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code && e.Msg == msg
}
