package binance_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	rest "github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/binance"
	"github.com/tradai/tradai/internal/sim/binanceapi"
	"github.com/tradai/tradai/internal/sim/replay/replaytest"
)

// The kline stream over the simulator's /stream: each candle as it closes,
// as the REST klines show it.
func TestKlineStreamOnSimulator(t *testing.T) {
	eng, feed := replaytest.Market(t, 60, nil)
	srv, err := binanceapi.New(binanceapi.Config{Engine: eng, Feed: feed, Keys: &binanceapi.MemoryKeys{}, WeightLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	c, err := rest.New(rest.Config{BaseURL: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	st := binance.New(c).Streaming("ws" + strings.TrimPrefix(hs.URL, "http"))
	got := make(chan exchange.Kline, 100)
	errc := make(chan error, 1)
	go func() {
		errc <- st.StreamKlines(ctx, []string{"BTCUSDT"}, "1m", func(_ string, k exchange.Kline) { got <- k })
	}()
	// Step a candle at a time until the subscription delivers one (it is
	// live once the server registered it).
	var next exchange.Kline
	for i := 0; next.Time.IsZero(); i++ {
		if i == 20 {
			t.Fatal("no candle streamed after 20 closes")
		}
		if err := feed.Step(1); err != nil {
			t.Fatal(err)
		}
		select {
		case next = <-got:
		case err := <-errc:
			t.Fatalf("stream ended: %v", err)
		case <-time.After(time.Second):
		}
	}
	ks, err := st.Klines(ctx, "BTCUSDT", "1m", 30)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range ks {
		if k == next {
			found = true
		}
	}
	if !found || next.Time.After(time.UnixMilli(feed.Now()-59_999)) { // closed: its close (open + 1 m − 1 ms) passed
		t.Fatalf("streamed %+v: not a closed candle of %+v", next, ks)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("stream ended with %v", err)
	}
}
