// Package exchangetest is the contract suite every exchange.Exchange
// implementation runs: the simulator through the Binance adapter and
// in-process (internal/sim/simexchange) now, real exchanges' adapters (on
// their test networks) later. It asserts what the
// runners rely on — rules enforced, balances moved by fills and fees and
// by nothing else, locks released by cancels, client order ids that make
// retries safe, typed errors — using only the interface.
package exchangetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
)

// Setup is one account ready for the suite: Exchange acts for it, and it
// holds enough of Symbol's quote asset for a few orders of ten times the
// minimum notional and nothing open on Symbol. The symbol must have a
// price (recent klines).
type Setup struct {
	Exchange exchange.Exchange
	Symbol   string
	// Move, when set, moves Symbol's price continuously to p (a
	// simulator's market data): the suite then also proves that a stop
	// order triggers and fills. It must leave the price at p.
	Move func(t *testing.T, p fixed.Dec)
	// NoFees says the venue charges no commission on Symbol's trades
	// (Alpaca's stocks): the suite then wants every fee zero instead of
	// positive.
	NoFees bool
}

// Run runs the suite; newSetup is called once per subtest, so each can
// have an account of its own.
func Run(t *testing.T, newSetup func(t *testing.T) Setup) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"ServerTime", testServerTime},
		{"Market", testMarket},
		{"FiltersEnforced", testFilters},
		{"UnknownSymbol", testUnknownSymbol},
		{"LimitRestsAndCancelReleases", testLimitCancel},
		{"MarketFillsMoveBalancesByTradesAndFees", testMarketFills},
		{"ClientOrderIDIsIdempotent", testClientOrderID},
		{"UnknownOrder", testUnknownOrder},
		{"InsufficientBalance", testInsufficient},
		{"StopLoss", testStopLoss},
		{"TrailingStop", testTrailingStop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			su := newSetup(t)
			s := &suite{t: t, ex: su.Exchange, symbol: su.Symbol, move: su.Move, noFees: su.NoFees, ctx: context.Background()}
			s.load()
			tc.fn(t, s)
		})
	}
}

type suite struct {
	t      *testing.T
	ex     exchange.Exchange
	symbol string
	ctx    context.Context
	m      exchange.Market
	last   fixed.Dec // the last close
	move   func(t *testing.T, p fixed.Dec)
	noFees bool
}

func (s *suite) load() {
	s.t.Helper()
	ms, err := s.ex.Markets(s.ctx)
	if err != nil {
		s.t.Fatalf("Markets: %v", err)
	}
	for _, m := range ms {
		if m.Symbol == s.symbol {
			s.m = m
		}
	}
	if s.m.Symbol == "" {
		s.t.Fatalf("Markets has no %s", s.symbol)
	}
	ks, err := s.ex.Klines(s.ctx, s.symbol, "1m", 2)
	if err != nil || len(ks) == 0 {
		s.t.Fatalf("Klines: %v, %d candles", err, len(ks))
	}
	s.last = ks[len(ks)-1].Close
}

// qtyFor is the smallest quantity on the step whose notional at price is
// at least n times the minimum (and the minimum quantity).
func (s *suite) qtyFor(price fixed.Dec, n int64) fixed.Dec {
	notional := max(s.m.MinNotional, 1) * fixed.Dec(n)
	q := fixed.QuoFloor(notional, price) + max(s.m.StepSize, 1)
	return max(q.CeilTo(s.m.StepSize), s.m.MinQty)
}

// farBelow is a buy price well under the market, on the tick.
func (s *suite) farBelow() fixed.Dec {
	p := fixed.MulFloor(s.last, fixed.MustParse("0.8")).FloorTo(s.m.TickSize)
	return max(p, s.m.TickSize, s.m.MinPrice)
}

func (s *suite) balances() map[string]exchange.Balance {
	s.t.Helper()
	bs, err := s.ex.Balances(s.ctx)
	if err != nil {
		s.t.Fatalf("Balances: %v", err)
	}
	out := map[string]exchange.Balance{}
	for _, b := range bs {
		out[b.Asset] = b
	}
	return out
}

func (s *suite) place(req exchange.OrderRequest) exchange.Order {
	s.t.Helper()
	req.Symbol = s.symbol
	o, err := s.ex.PlaceOrder(s.ctx, req)
	if err != nil {
		s.t.Fatalf("PlaceOrder %+v: %v", req, err)
	}
	return o
}

func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got %v, want %v", what, err, kind)
	}
	var e *exchange.Error
	if !errors.As(err, &e) || e.Msg == "" {
		t.Fatalf("%s: %v is not an *exchange.Error with the exchange's message", what, err)
	}
}

func testServerTime(t *testing.T, s *suite) {
	st, err := s.ex.ServerTime(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(st); d > time.Minute || d < -time.Minute {
		t.Fatalf("server time %v is %v away from ours", st, d)
	}
}

func testMarket(t *testing.T, s *suite) {
	m := s.m
	if m.Base == "" || m.Quote == "" || m.TickSize <= 0 || m.StepSize <= 0 || m.MinNotional <= 0 {
		t.Fatalf("market %+v lacks its rules", m)
	}
	if s.last <= 0 || s.last%m.TickSize != 0 {
		t.Fatalf("last price %v is not on the tick %v", s.last, m.TickSize)
	}
}

func testFilters(t *testing.T, s *suite) {
	p := s.farBelow()
	q := s.qtyFor(p, 2)
	cases := []struct {
		name string
		req  exchange.OrderRequest
	}{
		{"price off the tick", exchange.OrderRequest{Price: p + s.m.TickSize/2, Quantity: q}},
		{"quantity off the step", exchange.OrderRequest{Price: p, Quantity: q + s.m.StepSize/2}},
		{"notional under the minimum", exchange.OrderRequest{Price: p, Quantity: max(s.m.StepSize, s.m.MinQty)}},
	}
	for _, c := range cases {
		if c.name != "notional under the minimum" && (s.m.TickSize < 2 || s.m.StepSize < 2) {
			continue // no finer grid to fall off
		}
		if c.name == "notional under the minimum" && fixed.MulCeil(c.req.Price, c.req.Quantity) >= s.m.MinNotional {
			continue
		}
		c.req.Symbol, c.req.Side, c.req.Type = s.symbol, exchange.Buy, exchange.LimitOrder
		_, err := s.ex.PlaceOrder(s.ctx, c.req)
		wantKind(t, c.name, err, exchange.ErrFilter)
	}
	if open, err := s.ex.OpenOrders(s.ctx, s.symbol); err != nil || len(open) != 0 {
		t.Fatalf("rejected orders left open orders: %+v, %v", open, err)
	}
}

func testUnknownSymbol(t *testing.T, s *suite) {
	_, err := s.ex.PlaceOrder(s.ctx, exchange.OrderRequest{Symbol: "NOSUCHPAIR", Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: fixed.One})
	wantKind(t, "an order on an unknown symbol", err, exchange.ErrUnknownSymbol)
}

func testLimitCancel(t *testing.T, s *suite) {
	before := s.balances()
	p := s.farBelow()
	q := s.qtyFor(p, 2)
	o := s.place(exchange.OrderRequest{Side: exchange.Buy, Type: exchange.LimitOrder, Price: p, Quantity: q, ClientOrderID: "contract-limit-1"})
	if o.Status != exchange.StatusNew || o.ID == 0 || o.ClientOrderID != "contract-limit-1" || o.Price != p || o.Quantity != q || o.Executed != 0 {
		t.Fatalf("placed = %+v", o)
	}
	during := s.balances()
	lock := fixed.MulCeil(p, q)
	if got := during[s.m.Quote].Locked - before[s.m.Quote].Locked; got != lock {
		t.Fatalf("the order locked %v %s, want price × quantity = %v", got, s.m.Quote, lock)
	}
	if got := before[s.m.Quote].Free - during[s.m.Quote].Free; got != lock {
		t.Fatalf("free %s went down by %v, want %v", s.m.Quote, got, lock)
	}
	open, err := s.ex.OpenOrders(s.ctx, s.symbol)
	if err != nil || len(open) != 1 || open[0].ID != o.ID {
		t.Fatalf("open orders = %+v, %v", open, err)
	}
	for _, ref := range []exchange.OrderRef{{ID: o.ID}, {ClientID: "contract-limit-1"}} {
		got, err := s.ex.Order(s.ctx, s.symbol, ref)
		if err != nil || got.ID != o.ID || got.Status != exchange.StatusNew {
			t.Fatalf("Order(%+v) = %+v, %v", ref, got, err)
		}
	}
	c, err := s.ex.CancelOrder(s.ctx, s.symbol, exchange.OrderRef{ID: o.ID})
	if err != nil || c.Status != exchange.StatusCanceled || c.ID != o.ID || c.ClientOrderID != "contract-limit-1" {
		t.Fatalf("cancel = %+v, %v", c, err)
	}
	after := s.balances()
	if after[s.m.Quote] != before[s.m.Quote] {
		t.Fatalf("after the cancel %+v, before the order %+v: the lock was not released", after[s.m.Quote], before[s.m.Quote])
	}
	if open, err := s.ex.OpenOrders(s.ctx, s.symbol); err != nil || len(open) != 0 {
		t.Fatalf("open orders after cancel = %+v, %v", open, err)
	}
	_, err = s.ex.CancelOrder(s.ctx, s.symbol, exchange.OrderRef{ID: o.ID})
	wantKind(t, "a second cancel", err, exchange.ErrUnknownOrder)
	if got, err := s.ex.Order(s.ctx, s.symbol, exchange.OrderRef{ID: o.ID}); err != nil || got.Status != exchange.StatusCanceled {
		t.Fatalf("the cancelled order = %+v, %v", got, err)
	}
}

// moves is what trades should do to balances: each asset's change.
func moves(m exchange.Market, trades []exchange.Trade) map[string]fixed.Dec {
	d := map[string]fixed.Dec{}
	for _, tr := range trades {
		if tr.Side == exchange.Buy {
			d[m.Base] += tr.Qty
			d[m.Quote] -= tr.QuoteQty
		} else {
			d[m.Base] -= tr.Qty
			d[m.Quote] += tr.QuoteQty
		}
		d[tr.CommissionAsset] -= tr.Commission
	}
	return d
}

func (s *suite) tradesOf(orderID int64) []exchange.Trade {
	s.t.Helper()
	ts, err := s.ex.MyTrades(s.ctx, s.symbol, 0)
	if err != nil {
		s.t.Fatalf("MyTrades: %v", err)
	}
	var out []exchange.Trade
	for _, tr := range ts {
		if tr.OrderID == orderID {
			out = append(out, tr)
		}
	}
	return out
}

func (s *suite) checkMoves(before, after map[string]exchange.Balance, trades []exchange.Trade) {
	s.t.Helper()
	want := moves(s.m, trades)
	for _, a := range []string{s.m.Base, s.m.Quote} {
		got := (after[a].Free + after[a].Locked) - (before[a].Free + before[a].Locked)
		if got != want[a] {
			s.t.Fatalf("%s moved by %v, the trades and fees say %v (trades %+v)", a, got, want[a], trades)
		}
	}
	for a, w := range want {
		if a != s.m.Base && a != s.m.Quote {
			if got := (after[a].Free + after[a].Locked) - (before[a].Free + before[a].Locked); got != w {
				s.t.Fatalf("fee asset %s moved by %v, want %v", a, got, w)
			}
		}
	}
}

func testMarketFills(t *testing.T, s *suite) {
	before := s.balances()
	q := s.qtyFor(s.last, 3)
	buy := s.place(exchange.OrderRequest{Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: q})
	if buy.Status != exchange.StatusFilled || buy.Executed != q || buy.QuoteExecuted <= 0 {
		t.Fatalf("market buy = %+v", buy)
	}
	trades := s.tradesOf(buy.ID)
	var sum, quote, fees fixed.Dec
	for _, tr := range trades {
		sum += tr.Qty
		quote += tr.QuoteQty
		fees += tr.Commission
		if tr.Side != exchange.Buy || tr.Maker {
			t.Fatalf("buy trade = %+v", tr)
		}
	}
	if len(trades) == 0 || sum != q || quote != buy.QuoteExecuted || fees < 0 || (fees == 0) != s.noFees {
		t.Fatalf("trades of the buy %+v do not add up to the order %+v (fees %v)", trades, buy, fees)
	}
	mid := s.balances()
	s.checkMoves(before, mid, trades)

	// Sell what the buy brought, less its fee, down to the step.
	have := mid[s.m.Base].Free - before[s.m.Base].Free
	sq := have.FloorTo(s.m.StepSize)
	sell := s.place(exchange.OrderRequest{Side: exchange.Sell, Type: exchange.MarketOrder, Quantity: sq})
	if sell.Status != exchange.StatusFilled || sell.Executed != sq {
		t.Fatalf("market sell = %+v", sell)
	}
	s.checkMoves(mid, s.balances(), s.tradesOf(sell.ID))
	if got, err := s.ex.Order(s.ctx, s.symbol, exchange.OrderRef{ID: sell.ID}); err != nil || got.Status != exchange.StatusFilled || got.Executed != sq {
		t.Fatalf("Order of the sell = %+v, %v", got, err)
	}
}

func testClientOrderID(t *testing.T, s *suite) {
	p := s.farBelow()
	id := fmt.Sprintf("contract-dup-%d", time.Now().UnixNano()%1e9)
	req := exchange.OrderRequest{Side: exchange.Buy, Type: exchange.LimitOrder, Price: p, Quantity: s.qtyFor(p, 2), ClientOrderID: id}
	first := s.place(req)
	req.Symbol = s.symbol
	_, err := s.ex.PlaceOrder(s.ctx, req) // a retry of the same placement
	wantKind(t, "a second order with an open order's client id", err, exchange.ErrDuplicateOrder)
	open, err := s.ex.OpenOrders(s.ctx, s.symbol)
	if err != nil || len(open) != 1 || open[0].ID != first.ID {
		t.Fatalf("open orders after the retry = %+v, %v: want the first order only", open, err)
	}
	if got, err := s.ex.Order(s.ctx, s.symbol, exchange.OrderRef{ClientID: id}); err != nil || got.ID != first.ID {
		t.Fatalf("the order by its client id = %+v, %v", got, err)
	}
	if _, err := s.ex.CancelOrder(s.ctx, s.symbol, exchange.OrderRef{ClientID: id}); err != nil {
		t.Fatalf("cancel by client id: %v", err)
	}
}

func testUnknownOrder(t *testing.T, s *suite) {
	_, err := s.ex.Order(s.ctx, s.symbol, exchange.OrderRef{ID: 987654321987})
	wantKind(t, "querying an unknown order", err, exchange.ErrUnknownOrder)
	_, err = s.ex.CancelOrder(s.ctx, s.symbol, exchange.OrderRef{ClientID: "no-such-order"})
	wantKind(t, "cancelling an unknown order", err, exchange.ErrUnknownOrder)
}

func testInsufficient(t *testing.T, s *suite) {
	b := s.balances()
	p := s.farBelow()
	q := (fixed.QuoFloor(b[s.m.Quote].Free, p)*2 + s.m.StepSize).CeilTo(s.m.StepSize)
	if s.m.MaxQty > 0 && q > s.m.MaxQty {
		t.Skipf("the account's %s buys more than the largest order", s.m.Quote)
	}
	_, err := s.ex.PlaceOrder(s.ctx, exchange.OrderRequest{Symbol: s.symbol, Side: exchange.Buy, Type: exchange.LimitOrder, Price: p, Quantity: q})
	wantKind(t, "an order larger than the balance", err, exchange.ErrInsufficientBalance)
	if after := s.balances(); after[s.m.Quote] != b[s.m.Quote] {
		t.Fatalf("a rejected order moved the balance: %+v → %+v", b[s.m.Quote], after[s.m.Quote])
	}
}

// testStopLoss: a venue that lists STOP_LOSS and STOP_LOSS_LIMIT takes
// them with their stop price, keeps them waiting (the sold quantity
// locked) until the price reaches the stop, refuses one that would
// trigger at once, and releases the lock on cancel; moved through its
// stop (when the suite can move the price), a STOP_LOSS sell fills.
func testStopLoss(t *testing.T, s *suite) {
	for _, typ := range []exchange.OrderType{exchange.StopLossOrder, exchange.StopLossLimitOrder} {
		if !s.m.Takes(typ) {
			t.Skipf("%s does not take %s orders", s.symbol, typ)
		}
	}
	q := s.qtyFor(s.last, 4)
	buy := s.place(exchange.OrderRequest{Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: q})
	before := s.balances()
	have := (before[s.m.Base].Free).FloorTo(s.m.StepSize)
	if buy.Status != exchange.StatusFilled || have <= 0 {
		t.Fatalf("market buy = %+v, %v held", buy, have)
	}
	stop := fixed.MulFloor(s.last, fixed.MustParse("0.9")).FloorTo(s.m.TickSize)
	limit := fixed.MulFloor(s.last, fixed.MustParse("0.85")).FloorTo(s.m.TickSize)

	_, err := s.ex.PlaceOrder(s.ctx, exchange.OrderRequest{Symbol: s.symbol, Side: exchange.Sell, Type: exchange.StopLossOrder, Quantity: have,
		StopPrice: fixed.MulFloor(s.last, fixed.MustParse("1.1")).FloorTo(s.m.TickSize)})
	wantKind(t, "a sell stop above the price", err, exchange.ErrRejected)

	sl := s.place(exchange.OrderRequest{Side: exchange.Sell, Type: exchange.StopLossLimitOrder, Quantity: have, StopPrice: stop, Price: limit,
		ClientOrderID: "contract-stop-limit"})
	if sl.Status != exchange.StatusNew || sl.Type != exchange.StopLossLimitOrder || sl.StopPrice != stop || sl.Price != limit || sl.Executed != 0 {
		t.Fatalf("placed stop-limit = %+v", sl)
	}
	if got := s.balances()[s.m.Base].Locked - before[s.m.Base].Locked; got != have {
		t.Fatalf("the stop locked %v %s, want %v", got, s.m.Base, have)
	}
	if c, err := s.ex.CancelOrder(s.ctx, s.symbol, exchange.OrderRef{ClientID: "contract-stop-limit"}); err != nil || c.Status != exchange.StatusCanceled {
		t.Fatalf("cancel the stop-limit = %+v, %v", c, err)
	}
	if after := s.balances(); after[s.m.Base] != before[s.m.Base] {
		t.Fatalf("after the cancel %+v, before the stop %+v", after[s.m.Base], before[s.m.Base])
	}

	o := s.place(exchange.OrderRequest{Side: exchange.Sell, Type: exchange.StopLossOrder, Quantity: have, StopPrice: stop, ClientOrderID: "contract-stop"})
	if o.Status != exchange.StatusNew || o.Type != exchange.StopLossOrder || o.StopPrice != stop {
		t.Fatalf("placed stop = %+v", o)
	}
	got, err := s.ex.Order(s.ctx, s.symbol, exchange.OrderRef{ClientID: "contract-stop"})
	if err != nil || got.ID != o.ID || got.Status != exchange.StatusNew || got.StopPrice != stop || got.Type != exchange.StopLossOrder {
		t.Fatalf("the stop by its client id = %+v, %v", got, err)
	}
	if s.move == nil {
		return
	}
	s.move(t, stop-s.m.TickSize)
	defer s.move(t, s.last)
	got, err = s.ex.Order(s.ctx, s.symbol, exchange.OrderRef{ClientID: "contract-stop"})
	if err != nil || got.Status != exchange.StatusFilled || got.Executed != have {
		t.Fatalf("the stop after the price fell through it = %+v, %v", got, err)
	}
	trades := s.tradesOf(o.ID)
	if len(trades) == 0 || trades[0].Side != exchange.Sell || trades[0].Price > stop {
		t.Fatalf("the stop's fills %+v: want sells at or below the stop %v", trades, stop)
	}
	s.checkMoves(before, s.balances(), trades)
}

// testTrailingStop: a venue whose market takes trailing stops takes a
// STOP_LOSS sell with a trailing delta and a stop price above the price —
// tracking from the stop price at once — and shows its delta; one
// outside the market's range is refused as a filter failure. A venue
// that takes none refuses a trailing delta (ErrRejected or ErrFilter),
// never places a plain stop in its stead. Moved up and back (when the
// suite can move the price), the stop follows the highest price.
func testTrailingStop(t *testing.T, s *suite) {
	q := s.qtyFor(s.last, 4)
	buy := s.place(exchange.OrderRequest{Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: q})
	have := s.balances()[s.m.Base].Free.FloorTo(s.m.StepSize)
	if buy.Status != exchange.StatusFilled || have <= 0 {
		t.Fatalf("market buy = %+v, %v held", buy, have)
	}
	from := fixed.MulFloor(s.last, fixed.MustParse("1.01")).FloorTo(s.m.TickSize)
	req := exchange.OrderRequest{Symbol: s.symbol, Side: exchange.Sell, Type: exchange.StopLossOrder, Quantity: have, StopPrice: from,
		TrailingDelta: 500, ClientOrderID: "contract-trail"}
	if s.m.TrailingBelow.Max == 0 {
		_, err := s.ex.PlaceOrder(s.ctx, req)
		if !errors.Is(err, exchange.ErrRejected) && !errors.Is(err, exchange.ErrFilter) {
			t.Fatalf("a trailing stop on a venue without them: %v, want a refusal", err)
		}
		if open, err := s.ex.OpenOrders(s.ctx, s.symbol); err != nil || len(open) != 0 {
			t.Fatalf("open orders after the refusal: %+v, %v", open, err)
		}
		return
	}
	if _, err := s.m.Trailing(req, s.m.TrailingBelow.Max+1); !errors.Is(err, exchange.ErrFilter) {
		t.Fatalf("a delta above the range: %v, want ErrFilter", err)
	}
	bad := req
	bad.TrailingDelta, bad.ClientOrderID = s.m.TrailingBelow.Max+1, ""
	_, err := s.ex.PlaceOrder(s.ctx, bad)
	wantKind(t, "a delta above the range", err, exchange.ErrFilter)
	o := s.place(req)
	if o.Status != exchange.StatusNew || o.TrailingDelta != 500 || o.StopPrice != from {
		t.Fatalf("placed trailing stop = %+v", o)
	}
	if s.move == nil {
		return
	}
	// From 1.01× the price, up to 1.2× (the stop follows to 1.14×), down
	// to 1.15×: still waiting; down to 1.1×: filled, at or below 1.14×.
	defer s.move(t, s.last)
	for _, m := range []string{"1.2", "1.15"} {
		s.move(t, fixed.MulFloor(s.last, fixed.MustParse(m)).FloorTo(s.m.TickSize))
		if got, err := s.ex.Order(s.ctx, s.symbol, exchange.OrderRef{ClientID: "contract-trail"}); err != nil || got.Status != exchange.StatusNew {
			t.Fatalf("the trailing stop at %s× the price = %+v, %v", m, got, err)
		}
	}
	s.move(t, fixed.MulFloor(s.last, fixed.MustParse("1.1")).FloorTo(s.m.TickSize))
	got, err := s.ex.Order(s.ctx, s.symbol, exchange.OrderRef{ClientID: "contract-trail"})
	if err != nil || got.Status != exchange.StatusFilled {
		t.Fatalf("the trailing stop after the fall = %+v, %v", got, err)
	}
	stop := fixed.MulFloor(s.last, fixed.MustParse("1.14"))
	if trades := s.tradesOf(o.ID); len(trades) == 0 || trades[0].Price > stop {
		t.Fatalf("the trailing stop's fills %+v: want sells at or below %v", trades, stop)
	}
}
