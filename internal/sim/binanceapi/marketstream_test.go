package binanceapi

import (
	"testing"
)

// TestMarketStreams: trade, aggTrade, ticker, bookTicker, partial and diff
// depth events as Binance formats them, agreeing with the REST answers
// after the replay moved, and a diff-depth stream that keeps a REST
// snapshot equal to the book.
func TestMarketStreams(t *testing.T) {
	e := setup(t, nil)
	names := []string{"btcusdt@trade", "btcusdt@aggTrade", "btcusdt@ticker", "btcusdt@miniTicker", "btcusdt@bookTicker", "btcusdt@depth5@100ms", "btcusdt@depth"}
	c := e.dial(t, "/stream?streams="+joinNames(names))
	waitFor(t, "subscriptions", func() bool {
		for _, n := range names {
			if e.topicSubs(n) != 1 {
				return false
			}
		}
		return true
	})
	var snap struct {
		LastUpdateID int64
		Bids, Asks   [][2]string
	}
	e.do(t, "GET", "/api/v3/depth", "symbol=BTCUSDT&limit=1000", "", nil).decode(t, &snap)
	book := map[string]string{}
	for _, l := range snap.Bids {
		book["b"+l[0]] = l[1]
	}
	for _, l := range snap.Asks {
		book["a"+l[0]] = l[1]
	}

	if err := e.feed.Step(1); err != nil {
		t.Fatal(err)
	}
	var trades, aggs []map[string]any
	got := map[string]map[string]any{}
	for len(trades) < 4 || len(aggs) < 4 || len(got) < 5 {
		m := c.next()
		d := m["data"].(map[string]any)
		switch name := m["stream"].(string); name {
		case "btcusdt@trade":
			trades = append(trades, d)
		case "btcusdt@aggTrade":
			aggs = append(aggs, d)
		case "btcusdt@depth":
			if d["U"].(float64) > float64(snap.LastUpdateID)+1 || d["u"].(float64) <= float64(snap.LastUpdateID) {
				t.Fatalf("depthUpdate %v does not follow the snapshot's %d", d, snap.LastUpdateID)
			}
			for side, key := range map[string]string{"b": "b", "a": "a"} {
				for _, l := range d[key].([]any) {
					lv := l.([]any)
					if lv[1] == "0.00000000" {
						delete(book, side+lv[0].(string))
					} else {
						book[side+lv[0].(string)] = lv[1].(string)
					}
				}
			}
			got[name] = d
		default:
			got[name] = d
		}
	}
	var rest []struct {
		ID           int64
		Price, Qty   string
		Time         int64
		IsBuyerMaker bool
	}
	e.do(t, "GET", "/api/v3/trades", "symbol=BTCUSDT&limit=4", "", nil).decode(t, &rest)
	for i, tr := range trades {
		if keys(tr) != sortedKeys("e,E,s,t,p,q,T,m,M") || tr["e"] != "trade" || tr["t"] != float64(rest[i].ID) || tr["p"] != rest[i].Price ||
			tr["q"] != rest[i].Qty || tr["T"] != float64(rest[i].Time) || tr["m"] != rest[i].IsBuyerMaker {
			t.Fatalf("trade %d = %v, REST %+v", i, tr, rest[i])
		}
		if a := aggs[i]; keys(a) != sortedKeys("e,E,s,a,p,q,f,l,T,m,M") || a["e"] != "aggTrade" || a["a"] != tr["t"] || a["f"] != tr["t"] || a["p"] != tr["p"] {
			t.Fatalf("aggTrade %d = %v", i, a)
		}
	}
	var bt bookTicker
	e.do(t, "GET", "/api/v3/ticker/bookTicker", "symbol=BTCUSDT", "", nil).decode(t, &bt)
	if b := got["btcusdt@bookTicker"]; keys(b) != "A,B,a,b,s,u" || b["b"] != bt.BidPrice.String() || b["a"] != bt.AskPrice.String() {
		t.Fatalf("bookTicker = %v, REST %+v", b, bt)
	}
	var t24 ticker24
	e.do(t, "GET", "/api/v3/ticker/24hr", "symbol=BTCUSDT", "", nil).decode(t, &t24)
	if x := got["btcusdt@ticker"]; x["e"] != "24hrTicker" || x["c"] != t24.LastPrice.String() || x["v"] != t24.Volume.String() || x["o"] != t24.OpenPrice.String() {
		t.Fatalf("ticker = %v, REST %+v", x, t24)
	}
	if x := got["btcusdt@miniTicker"]; keys(x) != "E,c,e,h,l,o,q,s,v" || x["e"] != "24hrMiniTicker" || x["c"] != t24.LastPrice.String() || x["h"] != t24.HighPrice.String() {
		t.Fatalf("miniTicker = %v, REST %+v", x, t24)
	}
	var now struct {
		LastUpdateID int64
		Bids, Asks   [][2]string
	}
	e.do(t, "GET", "/api/v3/depth", "symbol=BTCUSDT&limit=5", "", nil).decode(t, &now)
	p := got["btcusdt@depth5@100ms"]
	if keys(p) != "asks,bids,lastUpdateId" || len(p["bids"].([]any)) != 5 || p["bids"].([]any)[0].([]any)[0] != now.Bids[0][0] || p["lastUpdateId"] != float64(now.LastUpdateID) {
		t.Fatalf("depth5 = %v, REST %+v", p, now)
	}
	// The snapshot with the diff applied is the book now, at its top.
	for _, l := range now.Bids {
		if book["b"+l[0]] != l[1] {
			t.Fatalf("bid %s: the synced book has %q, REST %s", l[0], book["b"+l[0]], l[1])
		}
	}
	for _, l := range now.Asks {
		if book["a"+l[0]] != l[1] {
			t.Fatalf("ask %s: the synced book has %q, REST %s", l[0], book["a"+l[0]], l[1])
		}
	}
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += "/"
		}
		out += n
	}
	return out
}

func TestParseStream(t *testing.T) {
	for name, want := range map[string]streamName{
		"btcusdt@kline_5m":       {symbol: "BTCUSDT", kind: streamKline, tf: "5m"},
		"btcusdt@trade":          {symbol: "BTCUSDT", kind: streamTrade},
		"btcusdt@miniTicker":     {symbol: "BTCUSDT", kind: streamMiniTicker},
		"ethbtc@aggTrade":        {symbol: "ETHBTC", kind: streamAggTrade},
		"btcusdt@depth":          {symbol: "BTCUSDT", kind: streamDepth},
		"btcusdt@depth@100ms":    {symbol: "BTCUSDT", kind: streamDepth},
		"btcusdt@depth20@1000ms": {symbol: "BTCUSDT", kind: streamPartialDepth, levels: 20},
		"btcusdt@depth10":        {symbol: "BTCUSDT", kind: streamPartialDepth, levels: 10},
	} {
		if got, ok := parseStream(name); !ok || got != want {
			t.Errorf("parseStream(%q) = %+v, %v", name, got, ok)
		}
	}
	for _, name := range []string{"BTCUSDT@trade", "btcusdt@depth15", "btcusdt@depth@10ms", "btcusdt@kline_7m", "@trade", "btcusdt", "btcusdt@tickers"} {
		if got, ok := parseStream(name); ok {
			t.Errorf("parseStream(%q) = %+v, want refused", name, got)
		}
	}
}
