package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coder/websocket"

	rest "github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/sdk"
)

// Streaming is a Client that also follows Binance's market streams
// (exchange.KlineStreamer): wss://stream.binance.com:9443 on the real
// exchange, ws://HOST:PORT on the simulator.
type Streaming struct {
	*Client
	url string
}

var _ exchange.KlineStreamer = (*Streaming)(nil)

// Streaming returns c with the market streams at base URL url.
func (c *Client) Streaming(url string) *Streaming {
	return &Streaming{Client: c, url: strings.TrimRight(url, "/")}
}

// klineMessage is a combined stream's kline event.
type klineMessage struct {
	Stream string `json:"stream"`
	Data   struct {
		Symbol string `json:"s"`
		K      struct {
			Open   int64     `json:"t"`
			O      fixed.Dec `json:"o"`
			H      fixed.Dec `json:"h"`
			L      fixed.Dec `json:"l"`
			C      fixed.Dec `json:"c"`
			V      fixed.Dec `json:"v"`
			Closed bool      `json:"x"`
			// Keys that differ from the ones above in case only:
			// encoding/json would fill those with them.
			CloseTime    int64     `json:"T"`
			LastTradeID  int64     `json:"L"`
			TakerBuyBase fixed.Dec `json:"V"`
		} `json:"k"`
	} `json:"data"`
}

// StreamKlines implements exchange.KlineStreamer over one combined stream
// of the symbols' kline streams: every kline event that closes a candle (x
// true), each candle once, until ctx ends or the connection drops. Binance
// marks no REST candle as closed, so none is delivered at once.
func (s *Streaming) StreamKlines(ctx context.Context, symbols []string, tf sdk.Timeframe, fn func(symbol string, k exchange.Kline)) error {
	if len(symbols) == 0 || !tf.Valid() {
		return errors.New("binance kline stream: symbols and a timeframe are required")
	}
	names := make([]string, len(symbols))
	for i, sym := range symbols {
		names[i] = strings.ToLower(sym) + "@kline_" + string(tf)
	}
	conn, _, err := websocket.Dial(ctx, s.url+"/stream?streams="+strings.Join(names, "/"), nil)
	if err != nil {
		return fmt.Errorf("binance kline stream: connect: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	sent := map[string]int64{} // open time of the newest candle delivered
	deliver := func(sym string, k exchange.Kline) {
		if t := k.Time.UnixMilli(); t > sent[sym] {
			sent[sym] = t
			fn(sym, k)
		}
	}
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("binance kline stream: %w", err)
		}
		sym, k, closed, err := parseKlineEvent(b)
		if err != nil {
			return fmt.Errorf("binance kline stream: %w", err)
		}
		if closed {
			deliver(sym, k)
		}
	}
}

// parseKlineEvent reads a combined stream's kline event: the symbol, the
// candle and whether it closed. An event that is not a kline event (no
// symbol) is not closed.
func parseKlineEvent(b []byte) (symbol string, k exchange.Kline, closed bool, err error) {
	var m klineMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return "", exchange.Kline{}, false, fmt.Errorf("%w: kline event: %w", rest.ErrUndecodable, err)
	}
	e := m.Data.K
	k = exchange.Kline{Time: time.UnixMilli(e.Open), Open: e.O, High: e.H, Low: e.L, Close: e.C, Volume: e.V}
	return m.Data.Symbol, k, e.Closed && m.Data.Symbol != "", nil
}
