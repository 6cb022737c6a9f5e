package binanceapi

import (
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
)

// The market's trades (/api/v3/trades, historicalTrades, aggTrades and the
// trade streams) are synthesised from the replayed candles: the engine
// moves the price through four points per candle — open, low, high,
// close at sim.PathTimes — so the tape has one trade at each point played,
// of a quarter of the candle's volume (of the volume so far, split among
// the points played, for the candle forming; at least one step). Trade
// ids are the candle's index on the timeframe grid × 4 + the point, so
// they grow with time and page with fromId. A trade going down from the
// point before is a sell into the bid (isBuyerMaker).

// tapeTrade is one synthesised trade.
type tapeTrade struct {
	ID         int64
	Price, Qty fixed.Dec
	Time       int64
	BuyerMaker bool
}

// tapeQuery selects trades: from fromID or startTime on (the first limit),
// else the newest limit at or before endTime (or now).
type tapeQuery struct {
	fromID, start, end int64
	limit              int
}

// tape returns symbol's trades for q, oldest first; nil without data.
func (s *Server) tape(symbol string, q tapeQuery) []tapeTrade {
	if s.cfg.Feed == nil {
		return nil
	}
	tf, ok := s.cfg.Feed.Timeframe(symbol)
	if !ok {
		return nil
	}
	info, _ := s.cfg.Engine.Symbol(symbol)
	dur := tf.Millis()
	forward := q.fromID > 0 || q.start > 0
	from := q.start
	if q.fromID > 0 {
		from = max(from, q.fromID/4*dur)
	}
	n := q.limit/4 + 3
	if forward {
		from = max(from-dur, 1) // a candle before: the first trade's direction
	} else if q.end > 0 {
		from = max(1, tf.Floor(q.end)-int64(n-1)*dur)
	}
	ks, err := s.cfg.Feed.Klines(symbol, tf, from, q.end, n)
	if err != nil {
		return nil
	}
	now := s.cfg.Feed.Now()
	var out []tapeTrade
	prev := fixed.Dec(0)
	for _, k := range ks {
		pts := sim.PathTimes(k.Time, dur)
		played := 0
		for _, t := range pts {
			if t <= now {
				played++
			}
		}
		if played == 0 {
			continue
		}
		qty := max((k.Volume / fixed.Dec(played)).FloorTo(info.StepSize), info.StepSize, 1)
		prices := [4]fixed.Dec{k.Open, k.Low, k.High, k.Close}
		for i, p := range prices[:played] {
			tr := tapeTrade{ID: k.Time/dur*4 + int64(i), Price: p, Qty: qty, Time: pts[i], BuyerMaker: prev > 0 && p < prev}
			prev = p
			if tr.ID < q.fromID || q.start > 0 && tr.Time < q.start || q.end > 0 && tr.Time > q.end {
				continue
			}
			out = append(out, tr)
		}
	}
	if len(out) > q.limit {
		if forward {
			out = out[:q.limit]
		} else {
			out = out[len(out)-q.limit:]
		}
	}
	return out
}

// readTape reads the trades endpoints' parameters.
func (s *Server) readTape(c *call, withTimes bool) (string, []tapeTrade, error) {
	sym, err := s.feedSymbol(&c.p)
	if err != nil {
		return "", nil, err
	}
	var q tapeQuery
	if q.fromID, _, err = c.p.long("fromId"); err != nil {
		return "", nil, err
	}
	if withTimes {
		if q.start, _, err = c.p.long("startTime"); err != nil {
			return "", nil, err
		}
		if q.end, _, err = c.p.long("endTime"); err != nil {
			return "", nil, err
		}
		if q.start > 0 && q.end > 0 && q.start > q.end {
			return "", nil, &sim.Error{Code: sim.CodeInvalidParameter, Msg: "Data sent for parameter 'startTime' is not valid."}
		}
	}
	if q.limit, err = c.p.limit(500, 1000); err != nil {
		return "", nil, err
	}
	return sym, s.tape(sym, q), nil
}

type tradeJSONPublic struct {
	ID           int64     `json:"id"`
	Price        fixed.Dec `json:"price"`
	Qty          fixed.Dec `json:"qty"`
	QuoteQty     fixed.Dec `json:"quoteQty"`
	Time         int64     `json:"time"`
	IsBuyerMaker bool      `json:"isBuyerMaker"`
	IsBestMatch  bool      `json:"isBestMatch"`
}

type aggTradeJSON struct {
	ID           int64     `json:"a"`
	Price        fixed.Dec `json:"p"`
	Qty          fixed.Dec `json:"q"`
	FirstID      int64     `json:"f"`
	LastID       int64     `json:"l"`
	Time         int64     `json:"T"`
	IsBuyerMaker bool      `json:"m"`
	IsBestMatch  bool      `json:"M"`
}

// trades is /api/v3/trades (the newest) and /api/v3/historicalTrades
// (from fromId).
func (s *Server) trades(c *call) (any, error) {
	_, ts, err := s.readTape(c, false)
	if err != nil {
		return nil, err
	}
	out := make([]tradeJSONPublic, 0, len(ts))
	for _, t := range ts {
		out = append(out, tradeJSONPublic{ID: t.ID, Price: t.Price, Qty: t.Qty, QuoteQty: fixed.MulFloor(t.Price, t.Qty), Time: t.Time,
			IsBuyerMaker: t.BuyerMaker, IsBestMatch: true})
	}
	return out, nil
}

// aggTrades is /api/v3/aggTrades: each synthesised trade is its own
// aggregate.
func (s *Server) aggTrades(c *call) (any, error) {
	_, ts, err := s.readTape(c, true)
	if err != nil {
		return nil, err
	}
	out := make([]aggTradeJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, aggOf(t))
	}
	return out, nil
}

func aggOf(t tapeTrade) aggTradeJSON {
	return aggTradeJSON{ID: t.ID, Price: t.Price, Qty: t.Qty, FirstID: t.ID, LastID: t.ID, Time: t.Time, IsBuyerMaker: t.BuyerMaker, IsBestMatch: true}
}
