package alpaca

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
)

// dec is an amount as Alpaca writes it: a JSON string ("10.5") in the
// trading API, a number in the data API, or null. Digits beyond 10⁻⁸
// (Alpaca allows 10⁻⁹ for fractional shares) are cut off towards zero.
type dec fixed.Dec

func (d *dec) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*d = 0
		return nil
	}
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := parseDec(s)
	if err != nil {
		return err
	}
	*d = dec(v)
	return nil
}

// parseDec reads a decimal, signed, plain or as a JSON number with an
// exponent, cutting digits below 10⁻⁸.
func parseDec(s string) (fixed.Dec, error) {
	if s == "" {
		return 0, nil
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	if strings.ContainsAny(s, "eE") {
		n := json.Number(s)
		f, err := n.Float64()
		if err != nil {
			return 0, fmt.Errorf("decimal %q: %w", s, err)
		}
		v, err := fixed.FromFloat(f)
		if err != nil {
			return 0, fmt.Errorf("decimal %q: %w", s, err)
		}
		if neg {
			v = -v
		}
		return v, nil
	}
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > fixed.Decimals {
		s = s[:i+1+fixed.Decimals]
	}
	v, err := fixed.Parse(s)
	if err != nil {
		return 0, fmt.Errorf("decimal %q: %w", s, err)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// OrderID is the exchange.Order.ID of the Alpaca order with UUID id: a
// positive 63-bit FNV-1a hash of it.
func OrderID(id string) int64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return max(int64(h.Sum64()>>1), 1)
}

// order is Alpaca's order object (POST and GET /v2/orders).
type order struct {
	ID             string    `json:"id"`
	ClientOrderID  string    `json:"client_order_id"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	Symbol         string    `json:"symbol"`
	Qty            dec       `json:"qty"`
	Notional       dec       `json:"notional"`
	FilledQty      dec       `json:"filled_qty"`
	FilledAvgPrice dec       `json:"filled_avg_price"`
	Type           string    `json:"type"`
	Side           string    `json:"side"`
	TimeInForce    string    `json:"time_in_force"`
	LimitPrice     dec       `json:"limit_price"`
	StopPrice      dec       `json:"stop_price"`
	Status         string    `json:"status"`
	ExtendedHours  bool      `json:"extended_hours"`
}

// orderTypes maps Alpaca's order types to ours and back.
var orderTypes = map[string]exchange.OrderType{
	"market": exchange.MarketOrder, "limit": exchange.LimitOrder,
	"stop": exchange.StopLossOrder, "stop_limit": exchange.StopLossLimitOrder,
}

func alpacaType(t exchange.OrderType) (string, bool) {
	for k, v := range orderTypes {
		if v == t {
			return k, true
		}
	}
	return "", false
}

// status maps an order's status; open ones by what has filled.
func (o *order) status() exchange.Status {
	switch o.Status {
	case "filled":
		return exchange.StatusFilled
	case "canceled", "replaced":
		return exchange.StatusCanceled
	case "rejected", "suspended":
		return exchange.StatusRejected
	case "expired", "done_for_day":
		return exchange.StatusExpired
	}
	// new, accepted, pending_new, accepted_for_bidding, partially_filled,
	// pending_cancel, pending_replace, stopped, calculated, held: open.
	if o.FilledQty > 0 {
		return exchange.StatusPartiallyFilled
	}
	return exchange.StatusNew
}

// pending reports whether the order's fate is still being decided at
// Alpaca: a placement not yet live, or a cancel not yet done.
func (o *order) pending() bool {
	switch o.Status {
	case "pending_new", "accepted", "pending_cancel", "pending_replace", "accepted_for_bidding":
		return true
	}
	return false
}

func (o *order) toExchange() exchange.Order {
	side := exchange.Buy
	if o.Side == "sell" {
		side = exchange.Sell
	}
	var quote fixed.Dec
	if e, ok := fixed.Mul(fixed.Dec(o.FilledAvgPrice), fixed.Dec(o.FilledQty)); ok {
		quote = e.Round()
	}
	return exchange.Order{Symbol: o.Symbol, ID: OrderID(o.ID), ClientOrderID: o.ClientOrderID, Side: side, Type: orderTypes[o.Type],
		TimeInForce: exchange.TimeInForce(strings.ToUpper(o.TimeInForce)), Status: o.status(), Price: fixed.Dec(o.LimitPrice),
		StopPrice: fixed.Dec(o.StopPrice), Quantity: fixed.Dec(o.Qty), Executed: fixed.Dec(o.FilledQty), QuoteExecuted: quote,
		Time: o.CreatedAt, UpdateTime: o.UpdatedAt}
}

// fill is an account activity of type FILL.
type fill struct {
	ID              string    `json:"id"`
	ActivityType    string    `json:"activity_type"`
	TransactionTime time.Time `json:"transaction_time"`
	Type            string    `json:"type"` // fill, partial_fill
	Price           dec       `json:"price"`
	Qty             dec       `json:"qty"`
	Side            string    `json:"side"` // buy, sell, sell_short
	Symbol          string    `json:"symbol"`
	LeavesQty       dec       `json:"leaves_qty"`
	OrderID         string    `json:"order_id"`
	CumQty          dec       `json:"cum_qty"`
	OrderStatus     string    `json:"order_status"`
}

func (f *fill) toExchange() exchange.Trade {
	side := exchange.Buy
	if f.Side != "buy" {
		side = exchange.Sell
	}
	var quote fixed.Dec
	if e, ok := fixed.Mul(fixed.Dec(f.Price), fixed.Dec(f.Qty)); ok {
		quote = e.Round()
	}
	return exchange.Trade{Symbol: f.Symbol, ID: OrderID(f.ID), OrderID: OrderID(f.OrderID), Side: side, Price: fixed.Dec(f.Price),
		Qty: fixed.Dec(f.Qty), QuoteQty: quote, CommissionAsset: "USD", Time: f.TransactionTime}
}

// asset is an asset of GET /v2/assets.
type asset struct {
	ID                string `json:"id"`
	Class             string `json:"class"`
	Exchange          string `json:"exchange"`
	Symbol            string `json:"symbol"`
	Status            string `json:"status"`
	Tradable          bool   `json:"tradable"`
	Fractionable      bool   `json:"fractionable"`
	MinOrderSize      dec    `json:"min_order_size"`
	MinTradeIncrement dec    `json:"min_trade_increment"`
	PriceIncrement    dec    `json:"price_increment"`
}

// Rules of US equities that the assets answer does not carry: prices of
// $1 and more trade on the cent (Reg NMS rule 612), and Alpaca takes
// fractional orders of at least $1.
var (
	equityTick        = fixed.MustParse("0.01")
	equityMinNotional = fixed.One
)

func (a *asset) toMarket() exchange.Market {
	m := exchange.Market{Symbol: a.Symbol, Base: a.Symbol, Quote: "USD", TickSize: equityTick, StepSize: fixed.One, MinQty: fixed.One,
		MinNotional: equityMinNotional, OrderTypes: []exchange.OrderType{exchange.StopLossOrder, exchange.StopLossLimitOrder}}
	if a.Fractionable {
		m.StepSize, m.MinQty = 1, 1
	}
	if a.PriceIncrement > 0 {
		m.TickSize = fixed.Dec(a.PriceIncrement)
	}
	if a.MinTradeIncrement > 0 {
		m.StepSize = fixed.Dec(a.MinTradeIncrement)
	}
	if a.MinOrderSize > 0 {
		m.MinQty = fixed.Dec(a.MinOrderSize)
	}
	return m
}

// account is GET /v2/account (the fields read).
type account struct {
	ID             string `json:"id"`
	AccountNumber  string `json:"account_number"`
	Status         string `json:"status"`
	Currency       string `json:"currency"`
	Cash           dec    `json:"cash"`
	BuyingPower    dec    `json:"buying_power"`
	TradingBlocked bool   `json:"trading_blocked"`
	AccountBlocked bool   `json:"account_blocked"`
	PatternDay     bool   `json:"pattern_day_trader"`
}

// position is one of GET /v2/positions.
type position struct {
	Symbol       string `json:"symbol"`
	Qty          dec    `json:"qty"`
	QtyAvailable dec    `json:"qty_available"`
	Side         string `json:"side"`
}

// marketClock is GET /v2/clock.
type marketClock struct {
	Timestamp time.Time `json:"timestamp"`
	IsOpen    bool      `json:"is_open"`
	NextOpen  time.Time `json:"next_open"`
	NextClose time.Time `json:"next_close"`
}

// calendarDay is one day of GET /v2/calendar: times are the exchange's
// (America/New_York) wall clock, "09:30" or "0930".
type calendarDay struct {
	Date         string `json:"date"`
	Open         string `json:"open"`
	Close        string `json:"close"`
	SessionOpen  string `json:"session_open"`
	SessionClose string `json:"session_close"`
}

// bar is one of GET /v2/stocks/{symbol}/bars.
type bar struct {
	T time.Time `json:"t"`
	O dec       `json:"o"`
	H dec       `json:"h"`
	L dec       `json:"l"`
	C dec       `json:"c"`
	V dec       `json:"v"`
}

type barsPage struct {
	Bars          []bar  `json:"bars"`
	Symbol        string `json:"symbol"`
	NextPageToken string `json:"next_page_token"`
}
