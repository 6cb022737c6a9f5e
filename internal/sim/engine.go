package sim

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/tradai/tradai/internal/fixed"
)

// Config sets the engine's market model. Start from DefaultConfig.
type Config struct {
	// MakerFee and TakerFee are fee rates (0.001 is 0.1%, Binance's
	// default without BNB), charged in the asset the fill gives: the base
	// asset on a buy, the quote asset on a sell.
	MakerFee, TakerFee fixed.Dec
	// Spread is the full bid–ask spread as a fraction of the last price:
	// bid = last × (1 − Spread/2), ask = last × (1 + Spread/2).
	Spread fixed.Dec
	// Slippage moves every taker fill this fraction further than the bid
	// or ask, against the taker.
	Slippage fixed.Dec
	// VolumeShare caps what one order may fill per candle at this share of
	// the candle's volume (0.1 is 10%); the rest waits for later candles
	// (or expires, for MARKET, IOC and FOK). Zero means no cap.
	VolumeShare fixed.Dec
	// HistoryLimit is how many closed orders and how many trades per
	// account the engine keeps in memory for queries (the database keeps
	// them all). Default 1000.
	HistoryLimit int
}

// DefaultConfig is Binance's default fees (0.1% maker and taker), no
// spread, no slippage, no volume cap.
func DefaultConfig() Config {
	return Config{MakerFee: fixed.MustParse("0.001"), TakerFee: fixed.MustParse("0.001"), HistoryLimit: 1000}
}

func (c *Config) validate() error {
	for name, v := range map[string]fixed.Dec{"maker fee": c.MakerFee, "taker fee": c.TakerFee, "spread": c.Spread, "slippage": c.Slippage, "volume share": c.VolumeShare} {
		if v < 0 || v > fixed.One {
			return fmt.Errorf("simulator config: %s %v must be between 0 and 1", name, v)
		}
	}
	if c.HistoryLimit == 0 {
		c.HistoryLimit = 1000
	}
	if c.HistoryLimit < 0 {
		return fmt.Errorf("simulator config: history limit %d is negative", c.HistoryLimit)
	}
	return nil
}

// Engine is the simulated exchange's matching core: symbols, accounts with
// free and locked balances, orders, and fills against replayed market
// data. It is pure and in-process — no I/O, no clock (every call that
// changes state takes the time) — and safe for concurrent use: one mutex
// serializes every operation, so each is atomic and the journal sees them
// in one order.
type Engine struct {
	mu       sync.Mutex
	cfg      Config
	books    map[string]*book
	accounts map[string]*account
	open     map[int64]*order

	nextOrder, nextTrade int64

	journal Journal
	events  []Event    // the current operation's events
	touched []*balance // balances changed by the current operation
	fills   []Fill     // the current operation's fills
}

type book struct {
	sym        Symbol
	last       fixed.Dec
	has        bool // last is known
	candleTime int64
	candleVol  fixed.Dec
	candleLo   fixed.Dec // the candle's low and high, as OpenCandle got them
	candleHi   fixed.Dec
	hasCandle  bool
	orders     []*order // open orders by id (working and waiting); done ones removed lazily
	dead       int
}

type account struct {
	id       string
	bal      map[string]*balance
	byClient map[clientKey]*order
	open     map[string]int // symbol → open orders (MAX_NUM_ORDERS)
	closed   []Order
	trades   []Fill
}

type balance struct {
	acct    *account
	asset   string
	free    fixed.Dec
	locked  fixed.Dec
	touched bool
}

type clientKey struct{ symbol, id string }

type order struct {
	Order
	acct         *account
	book         *book
	lockQuote    bool // the lock is in the quote asset (buys), else base
	locked       fixed.Dec
	cum          fixed.Exact // exact Σ price × qty of the fills
	candleTime   int64
	candleFilled fixed.Dec
	inBook       bool
	done         bool
	trail        *trailState // trailing stops only
}

// trailState is a trailing stop's: the highest (sell) or lowest (buy)
// price it tracked, and the range of prices it saw in candle spanCandle
// (the backtest's order inside a candle: see Engine.trail).
type trailState struct {
	peak           fixed.Dec
	spanLo, spanHi fixed.Dec
	spanCandle     int64
}

// peak is o's tracked price (0: none yet, or not a trailing stop).
func (o *order) peak() fixed.Dec {
	if o.trail == nil {
		return 0
	}
	return o.trail.peak
}

// New returns an engine trading symbols. journal may be nil.
func New(cfg Config, symbols []Symbol, journal Journal) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, books: map[string]*book{}, accounts: map[string]*account{}, open: map[int64]*order{}, journal: journal}
	for _, s := range symbols {
		if err := s.validate(); err != nil {
			return nil, err
		}
		if _, dup := e.books[s.Name]; dup {
			return nil, fmt.Errorf("symbol %s listed twice", s.Name)
		}
		e.books[s.Name] = &book{sym: s}
	}
	return e, nil
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

// Symbols returns the traded symbols sorted by name.
func (e *Engine) Symbols() []Symbol {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Symbol, 0, len(e.books))
	for _, b := range e.books {
		out = append(out, b.sym)
	}
	slices.SortFunc(out, func(a, b Symbol) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Symbol returns one symbol's definition.
func (e *Engine) Symbol(name string) (Symbol, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.books[name]
	if !ok {
		return Symbol{}, false
	}
	return b.sym, true
}

// ErrAccountExists is returned by CreateAccount for a taken id.
var ErrAccountExists = errors.New("account already exists")

// ErrNoAccount is returned for an unknown account id.
var ErrNoAccount = errors.New("no such account")

// CreateAccount adds an empty account.
func (e *Engine) CreateAccount(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id == "" {
		return errors.New("create account: empty id")
	}
	if _, ok := e.accounts[id]; ok {
		return fmt.Errorf("create account %s: %w", id, ErrAccountExists)
	}
	e.accounts[id] = newAccount(id)
	return nil
}

func newAccount(id string) *account {
	return &account{id: id, bal: map[string]*balance{}, byClient: map[clientKey]*order{}, open: map[string]int{}}
}

// Fund adds amount (which may be negative, down to the free balance) to an
// account's free balance of asset.
func (e *Engine) Fund(now int64, accountID, asset string, amount fixed.Dec) (Balance, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.accounts[accountID]
	if !ok {
		return Balance{}, fmt.Errorf("fund account %s: %w", accountID, ErrNoAccount)
	}
	if asset == "" {
		return Balance{}, errors.New("fund account: empty asset name")
	}
	b := a.balance(asset)
	nf, ok := fixed.AddOK(b.free, amount)
	if !ok || nf < 0 {
		return Balance{}, fmt.Errorf("fund account %s with %v %s: the free balance %v would go negative or overflow", accountID, amount, asset, b.free)
	}
	b.free = nf
	e.touch(b)
	e.commit(now)
	return Balance{Asset: asset, Free: b.free, Locked: b.locked}, nil
}

// Balances returns an account's non-zero balances sorted by asset.
func (e *Engine) Balances(accountID string) ([]Balance, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.accounts[accountID]
	if !ok {
		return nil, fmt.Errorf("balances of %s: %w", accountID, ErrNoAccount)
	}
	out := make([]Balance, 0, len(a.bal))
	for _, b := range a.bal {
		out = append(out, Balance{Asset: b.asset, Free: b.free, Locked: b.locked})
	}
	slices.SortFunc(out, func(x, y Balance) int { return cmp.Compare(x.Asset, y.Asset) })
	return out, nil
}

// Accounts returns every account id, sorted.
func (e *Engine) Accounts() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.accounts))
	for id := range e.accounts {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func (a *account) balance(asset string) *balance {
	b, ok := a.bal[asset]
	if !ok {
		b = &balance{acct: a, asset: asset}
		a.bal[asset] = b
	}
	return b
}

func (e *Engine) touch(b *balance) {
	if !b.touched {
		b.touched = true
		e.touched = append(e.touched, b)
	}
}

// commit ends an operation: balance events for what it touched, then the
// journal.
func (e *Engine) commit(now int64) {
	for _, b := range e.touched {
		b.touched = false
		if e.journal != nil {
			e.events = append(e.events, Event{Kind: EventBalance, Balance: BalanceEvent{Account: b.acct.id, Time: now, Balance: Balance{Asset: b.asset, Free: b.free, Locked: b.locked}}})
		}
	}
	e.touched = e.touched[:0]
	if e.journal != nil && len(e.events) > 0 {
		e.journal.Record(e.events)
		clear(e.events)
		e.events = e.events[:0]
	}
}

func (e *Engine) emit(o *order, exec ExecType, f *Fill) {
	if e.journal == nil {
		return
	}
	e.events = append(e.events, Event{Kind: EventOrder, Order: OrderEvent{Exec: exec, Order: o.Order, Locked: o.locked, CumQuoteRem: o.cum.Rem, TrailPeak: o.peak()}})
	if f != nil {
		e.events[len(e.events)-1].Order.Fill = *f
	}
}

// Price returns the symbol's last price.
func (e *Engine) Price(symbol string) (fixed.Dec, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.books[symbol]
	if !ok || !b.has {
		return 0, false
	}
	return b.last, true
}

// Quote returns the symbol's bid and ask: the last price less and plus half
// the spread, on the tick grid.
func (e *Engine) Quote(symbol string) (bid, ask fixed.Dec, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, found := e.books[symbol]
	if !found || !b.has {
		return 0, 0, false
	}
	half := e.cfg.Spread / 2
	return e.sellPrice(b, b.last, half), e.buyPrice(b, b.last, half), true
}

func (e *Engine) buyPrice(b *book, ref, frac fixed.Dec) fixed.Dec {
	p := ref
	if frac > 0 {
		p = fixed.MulCeil(ref, fixed.One+frac)
	}
	return p.CeilTo(b.sym.TickSize)
}

func (e *Engine) sellPrice(b *book, ref, frac fixed.Dec) fixed.Dec {
	p := ref
	if frac > 0 {
		p = fixed.MulFloor(ref, fixed.One-frac)
	}
	p = p.FloorTo(b.sym.TickSize)
	if p <= 0 {
		p = max(b.sym.TickSize, 1)
	}
	return p
}

// takerPrice is where a taker order of side fills with ref as the last
// price: the ask (bid) moved further by the slippage.
func (e *Engine) takerPrice(b *book, side Side, ref fixed.Dec) fixed.Dec {
	if side == Buy {
		return e.buyPrice(b, ref, e.cfg.Spread/2+e.cfg.Slippage)
	}
	return e.sellPrice(b, ref, e.cfg.Spread/2+e.cfg.Slippage)
}

// Place validates and places a new order at time now (Unix ms), executes
// what it can at once, and returns the order's state and the fills it got.
// Rejections are *Error with Binance's code and message.
func (e *Engine) Place(now int64, req OrderRequest) (Order, []Fill, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, err := e.place(now, req)
	if err != nil {
		return Order{}, nil, err
	}
	return o.Order, e.commitFills(now), nil
}

// commitFills commits the operation and hands over its fills.
func (e *Engine) commitFills(now int64) []Fill {
	e.commit(now)
	fills := e.fills
	e.fills = nil
	return fills
}

func (e *Engine) place(now int64, req OrderRequest) (*order, error) {
	b, ok := e.books[req.Symbol]
	if !ok {
		return nil, reject(CodeBadSymbol, MsgInvalidSymbol)
	}
	a, ok := e.accounts[req.Account]
	if !ok {
		return nil, errNoKey()
	}
	if err := checkParams(&req); err != nil {
		return nil, err
	}
	qty := req.Quantity
	var takeAt fixed.Dec // MARKET: the taker price now
	if req.Type == Market {
		if !b.has {
			return nil, reject(CodeNewOrderRejected, MsgMarketClosed)
		}
		takeAt = e.takerPrice(b, req.Side, b.last)
		if req.QuoteOrderQty > 0 {
			step := b.sym.StepSize
			if b.sym.MarketStepSize > 0 {
				step = b.sym.MarketStepSize
			}
			qty = fixed.QuoFloor(req.QuoteOrderQty, takeAt).FloorTo(step)
		}
	}
	if err := b.sym.check(&req, qty, b.last, b.has); err != nil {
		return nil, err
	}
	if n := b.sym.MaxNumOrders; n > 0 && a.open[req.Symbol] >= n {
		return nil, reject(CodeNewOrderRejected, "Filter failure: MAX_NUM_ORDERS")
	}
	if req.ClientOrderID != "" {
		if _, dup := a.byClient[clientKey{req.Symbol, req.ClientOrderID}]; dup {
			return nil, reject(CodeNewOrderRejected, MsgDuplicateOrder)
		}
	}
	if req.TrailingDelta > 0 {
		if !b.sym.TrailingDelta.On() {
			return nil, reject(CodeNewOrderRejected, MsgNoTrailingStops)
		}
		if !b.sym.TrailingDelta.allows(req.Type, req.Side, req.TrailingDelta) {
			return nil, filterFailure("TRAILING_DELTA")
		}
	}
	// A trailing stop tracks from the last price without a stop price, or
	// from its stop price when the last price meets it already.
	var peak fixed.Dec
	switch {
	case req.TrailingDelta > 0 && b.has && req.StopPrice == 0:
		peak = b.last
	case req.TrailingDelta > 0 && b.has && triggered(req.Type, req.Side, req.StopPrice, b.last, b.last):
		peak = req.StopPrice
	}
	if peak > 0 && trailHit(req.Side, trailStop(b, req.Side, req.TrailingDelta, peak), b.last) ||
		req.TrailingDelta == 0 && req.Type.IsStop() && b.has && triggered(req.Type, req.Side, req.StopPrice, b.last, b.last) {
		return nil, reject(CodeNewOrderRejected, MsgWouldTrigger)
	}
	if req.TrailingDelta > 0 && req.StopPrice == 0 && !b.has {
		return nil, reject(CodeNewOrderRejected, MsgMarketClosed)
	}
	if req.Type == LimitMaker && b.has && e.marketable(b, req.Side, req.Price, b.last) {
		return nil, reject(CodeNewOrderRejected, MsgWouldTake)
	}

	o := &order{acct: a, book: b}
	// What the order locks, and the balance check.
	base, quote := a.balance(b.sym.Base), a.balance(b.sym.Quote)
	switch {
	case req.Type == Market && req.Side == Buy:
		if fixed.MulCeil(takeAt, qty) > quote.free {
			return nil, reject(CodeNewOrderRejected, MsgInsufficientBalance)
		}
	case req.Type == Market:
		if qty > base.free {
			return nil, reject(CodeNewOrderRejected, MsgInsufficientBalance)
		}
	case req.Side == Buy:
		ref := req.Price
		if !req.Type.hasPrice() {
			ref = req.StopPrice
		}
		if ref == 0 { // a trailing stop without a stop price
			ref = b.last
		}
		o.lockQuote, o.locked = true, fixed.MulCeil(ref, qty)
		if o.locked > quote.free {
			return nil, reject(CodeNewOrderRejected, MsgInsufficientBalance)
		}
	default:
		o.locked = qty
		if qty > base.free {
			return nil, reject(CodeNewOrderRejected, MsgInsufficientBalance)
		}
	}

	e.nextOrder++
	id := e.nextOrder
	cid := req.ClientOrderID
	if cid == "" {
		cid = "sim" + strconv.FormatInt(id, 10)
	}
	o.Order = Order{
		Symbol: req.Symbol, ID: id, ClientOrderID: cid, Account: a.id, Side: req.Side, Type: req.Type,
		TimeInForce: req.TimeInForce, Price: req.Price, StopPrice: req.StopPrice, OrigQty: qty,
		OrigQuoteQty: req.QuoteOrderQty, Status: StatusNew, Time: now, UpdateTime: now, TrailingDelta: req.TrailingDelta,
	}
	if req.TrailingDelta > 0 {
		o.trail = &trailState{peak: peak}
	}
	if peak > 0 {
		o.TrailingTime = now
	}
	if o.TimeInForce == 0 {
		o.TimeInForce = GTC
	}
	if !req.Type.IsStop() {
		o.WorkingTime = now
	}
	if o.locked > 0 {
		lb := base
		if o.lockQuote {
			lb = quote
		}
		lb.free -= o.locked
		lb.locked += o.locked
		e.touch(lb)
	}
	e.open[id] = o
	a.open[o.Symbol]++
	a.byClient[clientKey{o.Symbol, cid}] = o
	e.emit(o, ExecNew, nil)

	if req.Type.IsStop() {
		e.rest(b, o)
		return o, nil
	}
	ref := b.last
	if b.has {
		e.take(b, o, ref, now)
	}
	if o.done {
		return o, nil
	}
	if req.Type == Market || o.TimeInForce != GTC {
		e.finish(o, StatusExpired, now)
		return o, nil
	}
	e.rest(b, o)
	return o, nil
}

// checkParams applies Binance's parameter rules per order type.
func checkParams(r *OrderRequest) error {
	if r.Side == 0 {
		return MandatoryParam("side")
	}
	if r.Type == 0 {
		return MandatoryParam("type")
	}
	if r.TrailingDelta != 0 && !r.Type.IsStop() {
		return NotRequired("trailingDelta")
	}
	needTIF := r.Type == Limit || r.Type == StopLossLimit || r.Type == TakeProfitLimit
	switch {
	case needTIF && r.TimeInForce == 0:
		return MandatoryParam("timeInForce")
	case !needTIF && r.TimeInForce != 0:
		return reject(CodeTIFNotRequired, "TimeInForce parameter sent when not required.")
	}
	if r.Type == Market {
		switch {
		case r.Quantity == 0 && r.QuoteOrderQty == 0:
			return &Error{Code: CodeMandatoryParam, Msg: "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"}
		case r.Quantity > 0 && r.QuoteOrderQty > 0:
			return NotRequired("quoteOrderQty")
		case r.Price > 0:
			return NotRequired("price")
		case r.StopPrice > 0:
			return NotRequired("stopPrice")
		}
		return nil
	}
	if r.QuoteOrderQty > 0 {
		return NotRequired("quoteOrderQty")
	}
	if r.Quantity == 0 {
		return MandatoryParam("quantity")
	}
	if r.Type.hasPrice() && r.Price == 0 {
		return MandatoryParam("price")
	}
	if !r.Type.hasPrice() && r.Price > 0 {
		return NotRequired("price")
	}
	if r.Type.IsStop() && r.StopPrice == 0 && r.TrailingDelta == 0 {
		return MandatoryParam("stopPrice")
	}
	if !r.Type.IsStop() && r.StopPrice > 0 {
		return NotRequired("stopPrice")
	}
	return nil
}

func (e *Engine) rest(b *book, o *order) {
	o.inBook = true
	b.orders = append(b.orders, o)
}

// finish closes an open order: releases what it still locks, takes it out
// of the open sets and into the history.
func (e *Engine) finish(o *order, st Status, now int64) {
	o.Status = st
	o.UpdateTime = now
	o.done = true
	if o.locked > 0 {
		b := o.acct.balance(o.book.sym.Base)
		if o.lockQuote {
			b = o.acct.balance(o.book.sym.Quote)
		}
		b.locked -= o.locked
		b.free += o.locked
		o.locked = 0
		e.touch(b)
	}
	delete(e.open, o.ID)
	if o.acct.open[o.Symbol]--; o.acct.open[o.Symbol] == 0 {
		delete(o.acct.open, o.Symbol)
	}
	k := clientKey{o.Symbol, o.ClientOrderID}
	if o.acct.byClient[k] == o {
		delete(o.acct.byClient, k)
	}
	if o.inBook {
		o.book.dead++
	}
	a := o.acct
	a.closed = append(a.closed, o.Order)
	if len(a.closed) > 2*e.cfg.HistoryLimit {
		a.closed = slices.Delete(a.closed, 0, len(a.closed)-e.cfg.HistoryLimit)
	}
	switch st {
	case StatusCanceled:
		e.emit(o, ExecCanceled, nil)
	case StatusExpired:
		e.emit(o, ExecExpired, nil)
	}
}

// errNoKey is the rejection for an account the engine does not know (the
// API layer maps keys to accounts, so it means a key without an account).
func errNoKey() *Error {
	return reject(CodeRejectedAPIKey, "Invalid API-key, IP, or permissions for action.")
}

// accountOn returns the account, checking that symbol is traded.
func (e *Engine) accountOn(accountID, symbol string) (*account, error) {
	if _, ok := e.books[symbol]; !ok {
		return nil, reject(CodeBadSymbol, MsgInvalidSymbol)
	}
	a, ok := e.accounts[accountID]
	if !ok {
		return nil, errNoKey()
	}
	return a, nil
}

// Cancel cancels an open order named by id (or, when id is 0, by client
// order id).
func (e *Engine) Cancel(now int64, accountID, symbol string, id int64, clientID string) (Order, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.accountOn(accountID, symbol)
	if err != nil {
		return Order{}, err
	}
	var o *order
	if id != 0 {
		o = e.open[id]
		if o != nil && (o.acct != a || o.Symbol != symbol || clientID != "" && o.ClientOrderID != clientID) {
			o = nil
		}
	} else {
		o = a.byClient[clientKey{symbol, clientID}]
	}
	if o == nil {
		return Order{}, reject(CodeCancelRejected, MsgUnknownOrder)
	}
	e.finish(o, StatusCanceled, now)
	e.compact(o.book)
	e.commit(now)
	return o.Order, nil
}

// Order returns one order of the account, open or recently closed, by id
// (or, when id is 0, by client order id: the newest with that id).
func (e *Engine) Order(accountID, symbol string, id int64, clientID string) (Order, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, err := e.accountOn(accountID, symbol)
	if err != nil {
		return Order{}, err
	}
	if id != 0 {
		if o := e.open[id]; o != nil && o.acct == a && o.Symbol == symbol {
			return o.Order, nil
		}
	} else if o := a.byClient[clientKey{symbol, clientID}]; o != nil {
		return o.Order, nil
	}
	for i := len(a.closed) - 1; i >= 0; i-- {
		c := &a.closed[i]
		if c.Symbol == symbol && (id != 0 && c.ID == id || id == 0 && c.ClientOrderID == clientID) {
			if clientID != "" && c.ClientOrderID != clientID {
				break
			}
			return *c, nil
		}
	}
	return Order{}, reject(CodeNoSuchOrder, MsgNoSuchOrder)
}

// OpenOrders returns the account's open orders on symbol (all symbols when
// empty), oldest first.
func (e *Engine) OpenOrders(accountID, symbol string) ([]Order, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.accounts[accountID]
	if !ok {
		return nil, errNoKey()
	}
	if _, ok := e.books[symbol]; symbol != "" && !ok {
		return nil, reject(CodeBadSymbol, MsgInvalidSymbol)
	}
	var out []Order
	for _, o := range a.byClient {
		if symbol == "" || o.Symbol == symbol {
			out = append(out, o.Order)
		}
	}
	slices.SortFunc(out, func(x, y Order) int { return cmp.Compare(x.ID, y.ID) })
	return out, nil
}

// History returns the account's orders on symbol that the engine still has
// in memory (open ones and the newest HistoryLimit closed ones) and its
// newest HistoryLimit trades, both oldest first.
func (e *Engine) History(accountID, symbol string) ([]Order, []Fill, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.accounts[accountID]
	if !ok {
		return nil, nil, errNoKey()
	}
	if _, ok := e.books[symbol]; !ok {
		return nil, nil, reject(CodeBadSymbol, MsgInvalidSymbol)
	}
	var orders []Order
	for _, o := range a.closed {
		if o.Symbol == symbol {
			orders = append(orders, o)
		}
	}
	for _, o := range a.byClient {
		if o.Symbol == symbol {
			orders = append(orders, o.Order)
		}
	}
	slices.SortFunc(orders, func(x, y Order) int { return cmp.Compare(x.ID, y.ID) })
	var fills []Fill
	for _, f := range a.trades {
		if f.Symbol == symbol {
			fills = append(fills, f)
		}
	}
	return orders, fills, nil
}
