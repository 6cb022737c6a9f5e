package backtest

import (
	"bytes"
	"context"
	"testing"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/strategy"
)

// A window of loaded data backtests exactly as the data loaded for the
// window's time range does, startup candles included.
func TestWindowIsTheBacktestOfItsRange(t *testing.T) {
	t.Parallel()
	const js = `{"strategy":"sma_cross","timeframe":"5m","datadir":"../../examples/data","max_open_trades":2,
		"exchange":{"name":"binance","pair_whitelist":["ETH/BTC","LTC/BTC"]},"timerange":"20180112-20180130"}`
	st, _ := strategy.Lookup("sma_cross")
	spec := st.Spec()
	load := func(cfg *config.Config) *Data {
		plan, err := NewPlan(cfg, spec)
		if err != nil {
			t.Fatal(err)
		}
		store, err := market.Open(cfg.Datadir, quiet())
		if err != nil {
			t.Fatal(err)
		}
		d, err := Load(context.Background(), store, plan, quiet())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		return d
	}
	cfg := parse(t, js)
	whole := load(cfg)
	span := whole.Span()
	tr, _ := config.ParseTimerange("20180118-20180123")
	win, err := whole.Window(market.Range{Start: tr.Start, End: tr.End})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timerange = "20180118-20180123"
	direct := load(cfg)
	settings, err := ConfigSettings(cfg, spec)
	if err != nil {
		t.Fatal(err)
	}
	run := func(d *Data) []byte {
		res := prepareSimulate(t, d, st, nil, settings)
		if len(res.Trades) == 0 {
			t.Fatal("no trades: the comparison proves little")
		}
		return resultJSON(t, res)
	}
	if a, b := run(win), run(direct); !bytes.Equal(a, b) {
		t.Errorf("window and direct load differ:\n%s\n%s", a, b)
	}
	if win.Span() != (market.Range{Start: tr.Start, End: tr.End}) || span.Start >= tr.Start || span.End <= tr.End {
		t.Errorf("spans: whole %+v, window %+v", span, win.Span())
	}
	if _, err := whole.Window(market.Range{Start: span.End - 300_000, End: span.End + 86_400_000}); err == nil {
		t.Error("a window with one candle was accepted")
	}
}
