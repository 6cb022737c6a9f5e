package binanceapi

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/sdk"
)

// The market data streams besides klines, as Binance names and formats
// them: <symbol>@trade, @aggTrade (the synthesised tape, see tape.go),
// @ticker (24hrTicker), @miniTicker (24hrMiniTicker), @bookTicker, @depth (diff depth: depthUpdate
// events with U/u update ids) and @depth<5|10|20> (partial book), the
// depth ones with an optional @100ms or @1000ms. Events are sent when the
// replay moves — the simulator's market changes only then — not on a
// fixed cadence. Update ids are the simulation time (the same as
// /api/v3/depth's lastUpdateId), so a client that syncs a diff-depth
// stream with a REST snapshot as Binance documents it works.

type streamKind int

const (
	streamKline streamKind = iota
	streamTrade
	streamAggTrade
	streamTicker
	streamMiniTicker
	streamBookTicker
	streamDepth
	streamPartialDepth
)

// diffDepthLevels is how many levels of each side the diff depth stream
// maintains (the REST snapshot a client syncs with is up to 1000 levels
// in ccxt and Binance's own examples).
const diffDepthLevels = 1000

type streamName struct {
	symbol string
	kind   streamKind
	tf     sdk.Timeframe
	levels int
}

// parseStream reads a stream name: "<symbol>@kline_<interval>",
// "<symbol>@trade", "@aggTrade", "@ticker", "@miniTicker", "@bookTicker",
// "@depth[@100ms|@1000ms]", "@depth<5|10|20>[@100ms|@1000ms]" — the
// symbol in lower case, as Binance wants.
func parseStream(name string) (streamName, bool) {
	sym, rest, found := strings.Cut(name, "@")
	if !found || sym == "" || strings.ToLower(sym) != sym || !validSymbol(strings.ToUpper(sym)) {
		return streamName{}, false
	}
	sn := streamName{symbol: strings.ToUpper(sym)}
	if iv, ok := strings.CutPrefix(rest, "kline_"); ok {
		sn.kind, sn.tf = streamKline, sdk.Timeframe(iv)
		return sn, sn.tf.Valid()
	}
	switch rest {
	case "trade":
		sn.kind = streamTrade
		return sn, true
	case "aggTrade":
		sn.kind = streamAggTrade
		return sn, true
	case "ticker":
		sn.kind = streamTicker
		return sn, true
	case "miniTicker":
		sn.kind = streamMiniTicker
		return sn, true
	case "bookTicker":
		sn.kind = streamBookTicker
		return sn, true
	}
	depth, ok := strings.CutPrefix(rest, "depth")
	if !ok {
		return streamName{}, false
	}
	if d, speed, cut := strings.Cut(depth, "@"); cut {
		if speed != "100ms" && speed != "1000ms" {
			return streamName{}, false
		}
		depth = d
	}
	switch depth {
	case "":
		sn.kind = streamDepth
	case "5", "10", "20":
		sn.kind = streamPartialDepth
		sn.levels, _ = strconv.Atoi(depth)
	default:
		return streamName{}, false
	}
	return sn, true
}

// marketState is what a market topic last sent.
type marketState struct {
	lastTrade  int64 // trade streams: the newest trade id sent (or existing at subscription)
	lastUpdate int64 // the simulation time of the last event (depth: its final update id)
	bid, ask   fixed.Dec
	book       map[bookKey]fixed.Dec // diff depth: the levels the client holds
}

type bookKey struct {
	ask   bool
	price fixed.Dec
}

// startMarket sets a new market topic's state to the market now: only
// what changes after the subscription is sent (h.mu held).
func (h *hub) startMarket(t *topic) {
	s := h.s
	t.market.lastUpdate = s.cfg.Feed.Now()
	t.market.lastTrade = -1
	switch t.kind {
	case streamTrade, streamAggTrade:
		if ts := s.tape(t.symbol, tapeQuery{limit: 1}); len(ts) == 1 {
			t.market.lastTrade = ts[0].ID
		}
	case streamDepth:
		bids, asks := s.book(t.symbol, diffDepthLevels)
		t.market.book = levelsOf(bids, asks)
	case streamBookTicker:
		t.market.bid, t.market.ask, _ = s.cfg.Engine.Quote(t.symbol)
	}
	if t.kind == streamPartialDepth || t.kind == streamTicker || t.kind == streamMiniTicker {
		t.market.lastUpdate = -1 // sent at the first move
	}
}

func levelsOf(bids, asks [][2]fixed.Dec) map[bookKey]fixed.Dec {
	m := make(map[bookKey]fixed.Dec, len(bids)+len(asks))
	for _, l := range bids {
		m[bookKey{false, l[0]}] = l[1]
	}
	for _, l := range asks {
		m[bookKey{true, l[0]}] = l[1]
	}
	return m
}

type tradeEvent struct {
	Type         string    `json:"e"`
	Time         int64     `json:"E"`
	Symbol       string    `json:"s"`
	ID           int64     `json:"t"`
	Price        fixed.Dec `json:"p"`
	Qty          fixed.Dec `json:"q"`
	TradeTime    int64     `json:"T"`
	IsBuyerMaker bool      `json:"m"`
	Ignore       bool      `json:"M"`
}

type aggTradeEvent struct {
	Type   string `json:"e"`
	Time   int64  `json:"E"`
	Symbol string `json:"s"`
	aggTradeJSON
}

type bookTickerEvent struct {
	UpdateID int64     `json:"u"`
	Symbol   string    `json:"s"`
	BidPrice fixed.Dec `json:"b"`
	BidQty   fixed.Dec `json:"B"`
	AskPrice fixed.Dec `json:"a"`
	AskQty   fixed.Dec `json:"A"`
}

type depthUpdateEvent struct {
	Type   string         `json:"e"`
	Time   int64          `json:"E"`
	Symbol string         `json:"s"`
	First  int64          `json:"U"`
	Final  int64          `json:"u"`
	Bids   [][2]fixed.Dec `json:"b"`
	Asks   [][2]fixed.Dec `json:"a"`
}

type partialDepthEvent struct {
	LastUpdateID int64          `json:"lastUpdateId"`
	Bids         [][2]fixed.Dec `json:"bids"`
	Asks         [][2]fixed.Dec `json:"asks"`
}

type tickerEvent struct {
	Type               string    `json:"e"`
	Time               int64     `json:"E"`
	Symbol             string    `json:"s"`
	PriceChange        fixed.Dec `json:"p"`
	PriceChangePercent string    `json:"P"`
	WeightedAvgPrice   fixed.Dec `json:"w"`
	FirstTradePrice    fixed.Dec `json:"x"`
	LastPrice          fixed.Dec `json:"c"`
	LastQty            fixed.Dec `json:"Q"`
	BidPrice           fixed.Dec `json:"b"`
	BidQty             fixed.Dec `json:"B"`
	AskPrice           fixed.Dec `json:"a"`
	AskQty             fixed.Dec `json:"A"`
	OpenPrice          fixed.Dec `json:"o"`
	HighPrice          fixed.Dec `json:"h"`
	LowPrice           fixed.Dec `json:"l"`
	Volume             fixed.Dec `json:"v"`
	QuoteVolume        fixed.Dec `json:"q"`
	OpenTime           int64     `json:"O"`
	CloseTime          int64     `json:"C"`
	FirstID            int64     `json:"F"`
	LastID             int64     `json:"L"`
	Count              int64     `json:"n"`
}

type miniTickerEvent struct {
	Type        string    `json:"e"`
	Time        int64     `json:"E"`
	Symbol      string    `json:"s"`
	LastPrice   fixed.Dec `json:"c"`
	OpenPrice   fixed.Dec `json:"o"`
	HighPrice   fixed.Dec `json:"h"`
	LowPrice    fixed.Dec `json:"l"`
	Volume      fixed.Dec `json:"v"`
	QuoteVolume fixed.Dec `json:"q"`
}

// publishMarket sends what changed on a market topic since its last
// event (h.mu held).
func (h *hub) publishMarket(t *topic, now int64) {
	s := h.s
	st := &t.market
	switch t.kind {
	case streamTrade, streamAggTrade:
		for {
			ts := s.tape(t.symbol, tapeQuery{fromID: st.lastTrade + 1, limit: maxKlinesPerRead})
			for _, tr := range ts {
				st.lastTrade = tr.ID
				if t.kind == streamTrade {
					h.sendMarket(t, tradeEvent{Type: "trade", Time: max(now, tr.Time), Symbol: t.symbol, ID: tr.ID, Price: tr.Price, Qty: tr.Qty,
						TradeTime: tr.Time, IsBuyerMaker: tr.BuyerMaker, Ignore: true})
				} else {
					h.sendMarket(t, aggTradeEvent{Type: "aggTrade", Time: max(now, tr.Time), Symbol: t.symbol, aggTradeJSON: aggOf(tr)})
				}
			}
			if len(ts) < maxKlinesPerRead {
				return
			}
		}
	case streamBookTicker:
		bid, ask, ok := s.cfg.Engine.Quote(t.symbol)
		if !ok || bid == st.bid && ask == st.ask {
			return
		}
		st.bid, st.ask = bid, ask
		info, _ := s.cfg.Engine.Symbol(t.symbol)
		q := s.levelQty(t.symbol, info)
		h.sendMarket(t, bookTickerEvent{UpdateID: now, Symbol: t.symbol, BidPrice: bid, BidQty: q, AskPrice: ask, AskQty: q})
	case streamTicker:
		if now == st.lastUpdate {
			return
		}
		st.lastUpdate = now
		info, _ := s.cfg.Engine.Symbol(t.symbol)
		x := s.ticker24(info)
		h.sendMarket(t, tickerEvent{Type: "24hrTicker", Time: now, Symbol: t.symbol, PriceChange: x.PriceChange, PriceChangePercent: x.PriceChangePercent,
			WeightedAvgPrice: x.WeightedAvgPrice, FirstTradePrice: x.PrevClosePrice, LastPrice: x.LastPrice, LastQty: x.LastQty, BidPrice: x.BidPrice,
			BidQty: x.BidQty, AskPrice: x.AskPrice, AskQty: x.AskQty, OpenPrice: x.OpenPrice, HighPrice: x.HighPrice, LowPrice: x.LowPrice,
			Volume: x.Volume, QuoteVolume: x.QuoteVolume, OpenTime: x.OpenTime, CloseTime: x.CloseTime, FirstID: x.FirstID, LastID: x.LastID, Count: x.Count})
	case streamMiniTicker:
		if now == st.lastUpdate {
			return
		}
		st.lastUpdate = now
		info, _ := s.cfg.Engine.Symbol(t.symbol)
		x := s.ticker24(info)
		h.sendMarket(t, miniTickerEvent{Type: "24hrMiniTicker", Time: now, Symbol: t.symbol, LastPrice: x.LastPrice, OpenPrice: x.OpenPrice,
			HighPrice: x.HighPrice, LowPrice: x.LowPrice, Volume: x.Volume, QuoteVolume: x.QuoteVolume})
	case streamPartialDepth:
		if now == st.lastUpdate {
			return
		}
		st.lastUpdate = now
		bids, asks := s.book(t.symbol, t.levels)
		h.sendMarket(t, partialDepthEvent{LastUpdateID: now, Bids: bids, Asks: asks})
	case streamDepth:
		if now <= st.lastUpdate {
			return
		}
		bids, asks := s.book(t.symbol, diffDepthLevels)
		next := levelsOf(bids, asks)
		ev := depthUpdateEvent{Type: "depthUpdate", Time: now, Symbol: t.symbol, First: st.lastUpdate + 1, Final: now,
			Bids: [][2]fixed.Dec{}, Asks: [][2]fixed.Dec{}}
		add := func(k bookKey, q fixed.Dec) {
			if k.ask {
				ev.Asks = append(ev.Asks, [2]fixed.Dec{k.price, q})
			} else {
				ev.Bids = append(ev.Bids, [2]fixed.Dec{k.price, q})
			}
		}
		for _, l := range bids {
			if k := (bookKey{false, l[0]}); st.book[k] != l[1] {
				add(k, l[1])
			}
		}
		for _, l := range asks {
			if k := (bookKey{true, l[0]}); st.book[k] != l[1] {
				add(k, l[1])
			}
		}
		var gone []bookKey
		for k := range st.book {
			if _, ok := next[k]; !ok {
				gone = append(gone, k)
			}
		}
		slices.SortFunc(gone, func(a, b bookKey) int { return cmp.Compare(a.price, b.price) })
		for _, k := range gone {
			add(k, 0)
		}
		st.book, st.lastUpdate = next, now
		if len(ev.Bids)+len(ev.Asks) > 0 {
			h.sendMarket(t, ev)
		}
	}
}

func (h *hub) sendMarket(t *topic, ev any) {
	raw, err := json.Marshal(ev)
	if err != nil {
		h.s.log.Error("encode a market data event", "stream", t.name, "err", err)
		return
	}
	fanOut(t.subs, t.name, raw)
}
