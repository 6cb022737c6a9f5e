package binanceapi

import (
	"errors"
	"strconv"

	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/sdk"
)

func badSymbol() error { return &sim.Error{Code: sim.CodeBadSymbol, Msg: sim.MsgInvalidSymbol} }

// symbols resolves the symbol or symbols parameter: nil (all) when neither
// is sent.
func (s *Server) symbols(p *params) ([]sim.Symbol, error) {
	var names []string
	if p.has("symbol") {
		n, err := p.symbol()
		if err != nil {
			return nil, err
		}
		names = []string{n}
	} else {
		list, err := p.symbolList()
		if err != nil {
			return nil, err
		}
		names = list
	}
	if names == nil {
		return s.cfg.Engine.Symbols(), nil
	}
	out := make([]sim.Symbol, 0, len(names))
	for _, n := range names {
		sym, ok := s.cfg.Engine.Symbol(n)
		if !ok {
			return nil, badSymbol()
		}
		out = append(out, sym)
	}
	return out, nil
}

type rateLimit struct {
	RateLimitType string `json:"rateLimitType"`
	Interval      string `json:"interval"`
	IntervalNum   int    `json:"intervalNum"`
	Limit         int    `json:"limit"`
}

type symbolInfo struct {
	Symbol                          string           `json:"symbol"`
	Status                          string           `json:"status"`
	BaseAsset                       string           `json:"baseAsset"`
	BaseAssetPrecision              int              `json:"baseAssetPrecision"`
	QuoteAsset                      string           `json:"quoteAsset"`
	QuotePrecision                  int              `json:"quotePrecision"`
	QuoteAssetPrecision             int              `json:"quoteAssetPrecision"`
	BaseCommissionPrecision         int              `json:"baseCommissionPrecision"`
	QuoteCommissionPrecision        int              `json:"quoteCommissionPrecision"`
	OrderTypes                      []string         `json:"orderTypes"`
	IcebergAllowed                  bool             `json:"icebergAllowed"`
	OcoAllowed                      bool             `json:"ocoAllowed"`
	OtoAllowed                      bool             `json:"otoAllowed"`
	QuoteOrderQtyMarketAllowed      bool             `json:"quoteOrderQtyMarketAllowed"`
	AllowTrailingStop               bool             `json:"allowTrailingStop"`
	CancelReplaceAllowed            bool             `json:"cancelReplaceAllowed"`
	IsSpotTradingAllowed            bool             `json:"isSpotTradingAllowed"`
	IsMarginTradingAllowed          bool             `json:"isMarginTradingAllowed"`
	Filters                         []map[string]any `json:"filters"`
	Permissions                     []string         `json:"permissions"`
	PermissionSets                  [][]string       `json:"permissionSets"`
	DefaultSelfTradePreventionMode  string           `json:"defaultSelfTradePreventionMode"`
	AllowedSelfTradePreventionModes []string         `json:"allowedSelfTradePreventionModes"`
}

func filtersJSON(f sim.Filters) []map[string]any {
	out := []map[string]any{
		{"filterType": "PRICE_FILTER", "minPrice": f.MinPrice, "maxPrice": f.MaxPrice, "tickSize": f.TickSize},
		{"filterType": "LOT_SIZE", "minQty": f.MinQty, "maxQty": f.MaxQty, "stepSize": f.StepSize},
	}
	if f.LegacyMinNotional {
		out = append(out, map[string]any{"filterType": "MIN_NOTIONAL", "minNotional": f.MinNotional, "applyToMarket": f.ApplyMinToMarket, "avgPriceMins": 0})
	} else {
		out = append(out, map[string]any{"filterType": "NOTIONAL", "minNotional": f.MinNotional, "applyMinToMarket": f.ApplyMinToMarket,
			"maxNotional": f.MaxNotional, "applyMaxToMarket": f.ApplyMaxToMarket, "avgPriceMins": 0})
	}
	out = append(out, map[string]any{"filterType": "MARKET_LOT_SIZE", "minQty": f.MarketMinQty, "maxQty": f.MarketMaxQty, "stepSize": f.MarketStepSize})
	if pp := f.PercentPriceBySide; pp.On() {
		out = append(out, map[string]any{"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": pp.BidUp, "bidMultiplierDown": pp.BidDown,
			"askMultiplierUp": pp.AskUp, "askMultiplierDown": pp.AskDown, "avgPriceMins": 0})
	}
	if f.MaxNumOrders > 0 {
		out = append(out, map[string]any{"filterType": "MAX_NUM_ORDERS", "maxNumOrders": f.MaxNumOrders})
	}
	if td := f.TrailingDelta; td.On() {
		out = append(out, map[string]any{"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": td.MinAbove, "maxTrailingAboveDelta": td.MaxAbove,
			"minTrailingBelowDelta": td.MinBelow, "maxTrailingBelowDelta": td.MaxBelow})
	}
	return out
}

func (s *Server) exchangeInfo(c *call) (any, error) {
	syms, err := s.symbols(&c.p)
	if err != nil {
		return nil, err
	}
	var types []string
	for _, t := range sim.OrderTypes() {
		types = append(types, t.String())
	}
	infos := make([]symbolInfo, 0, len(syms))
	for _, sym := range syms {
		infos = append(infos, symbolInfo{
			Symbol: sym.Name, Status: "TRADING", BaseAsset: sym.Base, BaseAssetPrecision: fixed.Decimals,
			QuoteAsset: sym.Quote, QuotePrecision: fixed.Decimals, QuoteAssetPrecision: fixed.Decimals,
			BaseCommissionPrecision: fixed.Decimals, QuoteCommissionPrecision: fixed.Decimals,
			OrderTypes: types, QuoteOrderQtyMarketAllowed: true, AllowTrailingStop: sym.TrailingDelta.On(), IsSpotTradingAllowed: true,
			Filters: filtersJSON(sym.Filters), Permissions: []string{"SPOT"}, PermissionSets: [][]string{{"SPOT"}},
			DefaultSelfTradePreventionMode: "NONE", AllowedSelfTradePreventionModes: []string{"NONE"},
		})
	}
	limits := []rateLimit{}
	if s.cfg.WeightLimit > 0 {
		limits = append(limits, rateLimit{RateLimitType: "REQUEST_WEIGHT", Interval: "MINUTE", IntervalNum: 1, Limit: s.cfg.WeightLimit})
	}
	limits = append(limits, s.orderRateLimits()...)
	return map[string]any{"timezone": "UTC", "serverTime": c.wall.UnixMilli(), "rateLimits": limits, "exchangeFilters": []any{}, "symbols": infos}, nil
}

// feedSymbol resolves the mandatory symbol and checks the feed has it.
func (s *Server) feedSymbol(p *params) (string, error) {
	sym, err := p.symbol()
	if err != nil {
		return "", err
	}
	if _, ok := s.cfg.Engine.Symbol(sym); !ok {
		return "", badSymbol()
	}
	return sym, nil
}

func (s *Server) klines(c *call) (any, error) {
	sym, err := s.feedSymbol(&c.p)
	if err != nil {
		return nil, err
	}
	iv := c.p.str("interval")
	if iv == "" {
		return nil, sim.MandatoryParam("interval")
	}
	tf := sdk.Timeframe(iv)
	if !tf.Valid() {
		return nil, &sim.Error{Code: sim.CodeBadInterval, Msg: "Invalid interval."}
	}
	start, _, err := c.p.long("startTime")
	if err != nil {
		return nil, err
	}
	end, _, err := c.p.long("endTime")
	if err != nil {
		return nil, err
	}
	limit, err := c.p.limit(500, 1000)
	if err != nil {
		return nil, err
	}
	if start > 0 && end > 0 && start > end {
		return nil, &sim.Error{Code: sim.CodeInvalidParameter, Msg: "Data sent for parameter 'startTime' is not valid."}
	}
	out := [][]any{}
	if s.cfg.Feed == nil {
		return out, nil
	}
	if start == 0 && end > 0 {
		// Only endTime: the limit candles that open at or before it, as
		// Binance answers — the feed reads forward from a start.
		start = tf.Floor(end)
		for i := 1; i < limit && start > 1; i++ {
			start = tf.Floor(start - 1)
		}
		start = max(start, 1)
	}
	ks, err := s.cfg.Feed.Klines(sym, tf, start, end, limit)
	if errors.Is(err, replay.ErrInterval) {
		return nil, &sim.Error{Code: sim.CodeBadInterval, Msg: "Invalid interval."}
	}
	if err != nil {
		return out, nil // a symbol without data has no candles
	}
	for _, k := range ks {
		out = append(out, []any{k.Time, k.Open, k.High, k.Low, k.Close, k.Volume, k.CloseTime, k.QuoteVolume, k.Trades,
			k.Volume / 2, k.QuoteVolume / 2, "0"})
	}
	return out, nil
}

// depth synthesises a book around the price: level i (from 0) of the bids
// is the bid less i ticks, of the asks the ask plus i ticks, each holding a
// tenth of the current candle's volume (at least one step). Orders never
// consume it: fills come from the price path (see package sim).
func (s *Server) depth(c *call) (any, error) {
	sym, err := s.feedSymbol(&c.p)
	if err != nil {
		return nil, err
	}
	limit, err := c.p.limit(100, 5000)
	if err != nil {
		return nil, err
	}
	bids, asks := s.book(sym, limit)
	return map[string]any{"lastUpdateId": s.simNow(c), "bids": bids, "asks": asks}, nil
}

// book is the synthetic book's top n levels of each side (empty before
// the first price).
func (s *Server) book(sym string, n int) (bids, asks [][2]fixed.Dec) {
	info, _ := s.cfg.Engine.Symbol(sym)
	bids, asks = [][2]fixed.Dec{}, [][2]fixed.Dec{}
	bid, ask, ok := s.cfg.Engine.Quote(sym)
	if !ok {
		return bids, asks
	}
	qty := s.levelQty(sym, info)
	tick := max(info.TickSize, 1)
	for i := 0; i < n; i++ {
		if p := bid - fixed.Dec(i)*tick; p > 0 {
			bids = append(bids, [2]fixed.Dec{p, qty})
		}
		asks = append(asks, [2]fixed.Dec{ask + fixed.Dec(i)*tick, qty})
	}
	return bids, asks
}

func (s *Server) levelQty(sym string, info sim.Symbol) fixed.Dec {
	q := fixed.Dec(0)
	if s.cfg.Feed != nil {
		if st, ok := s.cfg.Feed.Ticker(sym); ok {
			q = (st.Volume / 2400).FloorTo(info.StepSize) // a tenth of an average candle of the last day (≈ 1m candles)
		}
	}
	return max(q, info.StepSize, 1)
}

func (s *Server) avgPrice(c *call) (any, error) {
	sym, err := s.feedSymbol(&c.p)
	if err != nil {
		return nil, err
	}
	p, _ := s.cfg.Engine.Price(sym)
	return map[string]any{"mins": 0, "price": p, "closeTime": s.simNow(c)}, nil
}

type ticker24 struct {
	Symbol             string    `json:"symbol"`
	PriceChange        fixed.Dec `json:"priceChange"`
	PriceChangePercent string    `json:"priceChangePercent"`
	WeightedAvgPrice   fixed.Dec `json:"weightedAvgPrice"`
	PrevClosePrice     fixed.Dec `json:"prevClosePrice"`
	LastPrice          fixed.Dec `json:"lastPrice"`
	LastQty            fixed.Dec `json:"lastQty"`
	BidPrice           fixed.Dec `json:"bidPrice"`
	BidQty             fixed.Dec `json:"bidQty"`
	AskPrice           fixed.Dec `json:"askPrice"`
	AskQty             fixed.Dec `json:"askQty"`
	OpenPrice          fixed.Dec `json:"openPrice"`
	HighPrice          fixed.Dec `json:"highPrice"`
	LowPrice           fixed.Dec `json:"lowPrice"`
	Volume             fixed.Dec `json:"volume"`
	QuoteVolume        fixed.Dec `json:"quoteVolume"`
	OpenTime           int64     `json:"openTime"`
	CloseTime          int64     `json:"closeTime"`
	FirstID            int64     `json:"firstId"`
	LastID             int64     `json:"lastId"`
	Count              int64     `json:"count"`
}

// oneOrList answers a single object for the symbol parameter, else a list.
func oneOrList[T any](p *params, items []T) any {
	if p.has("symbol") && len(items) == 1 {
		return items[0]
	}
	return items
}

func (s *Server) ticker24h(c *call) (any, error) {
	syms, err := s.symbols(&c.p)
	if err != nil {
		return nil, err
	}
	out := make([]ticker24, 0, len(syms))
	for _, sym := range syms {
		out = append(out, s.ticker24(sym))
	}
	return oneOrList(&c.p, out), nil
}

// ticker24 is the symbol's rolling 24-hour statistics.
func (s *Server) ticker24(sym sim.Symbol) ticker24 {
	t := ticker24{Symbol: sym.Name, PriceChangePercent: "0.000", FirstID: -1, LastID: -1}
	if s.cfg.Feed != nil {
		if st, ok := s.cfg.Feed.Ticker(sym.Name); ok {
			t.OpenPrice, t.HighPrice, t.LowPrice, t.LastPrice = st.Open, st.High, st.Low, st.Last
			t.PrevClosePrice, t.Volume, t.QuoteVolume = st.PrevClose, st.Volume, st.QuoteVolume
			t.OpenTime, t.CloseTime, t.Count = st.OpenTime, st.CloseTime, st.Count
			t.PriceChange = st.Last - st.Open
			if st.Open > 0 {
				t.PriceChangePercent = strconv.FormatFloat(float64(st.Last-st.Open)*100/float64(st.Open), 'f', 3, 64)
			}
			if st.Volume > 0 {
				t.WeightedAvgPrice = fixed.QuoFloor(st.QuoteVolume, st.Volume)
			}
		}
	}
	if last, ok := s.cfg.Engine.Price(sym.Name); ok {
		t.LastPrice = last
		bid, ask, _ := s.cfg.Engine.Quote(sym.Name)
		q := s.levelQty(sym.Name, sym)
		t.BidPrice, t.AskPrice, t.BidQty, t.AskQty = bid, ask, q, q
	}
	return t
}

type priceTicker struct {
	Symbol string    `json:"symbol"`
	Price  fixed.Dec `json:"price"`
}

func (s *Server) tickerPrice(c *call) (any, error) {
	syms, err := s.symbols(&c.p)
	if err != nil {
		return nil, err
	}
	out := make([]priceTicker, 0, len(syms))
	for _, sym := range syms {
		p, _ := s.cfg.Engine.Price(sym.Name)
		out = append(out, priceTicker{Symbol: sym.Name, Price: p})
	}
	return oneOrList(&c.p, out), nil
}

type bookTicker struct {
	Symbol   string    `json:"symbol"`
	BidPrice fixed.Dec `json:"bidPrice"`
	BidQty   fixed.Dec `json:"bidQty"`
	AskPrice fixed.Dec `json:"askPrice"`
	AskQty   fixed.Dec `json:"askQty"`
}

func (s *Server) bookTicker(c *call) (any, error) {
	syms, err := s.symbols(&c.p)
	if err != nil {
		return nil, err
	}
	out := make([]bookTicker, 0, len(syms))
	for _, sym := range syms {
		t := bookTicker{Symbol: sym.Name}
		if bid, ask, ok := s.cfg.Engine.Quote(sym.Name); ok {
			q := s.levelQty(sym.Name, sym)
			t.BidPrice, t.AskPrice, t.BidQty, t.AskQty = bid, ask, q, q
		}
		out = append(out, t)
	}
	return oneOrList(&c.p, out), nil
}
