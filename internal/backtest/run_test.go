package backtest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/trade"
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func parse(t *testing.T, js string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(js), "test.json")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The signals strategy trades a CSV's signal columns as given.
func TestRunSignalsCSV(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csv := "date,open,high,low,close,volume,enter_long,exit_long,enter_tag\n" +
		"2024-01-01,100,101,99,100,1,0,0,\n" +
		"2024-01-02,100,103,99,102,1,1,0,dip\n" +
		"2024-01-03,102,106,101,105,1,0,0,\n" +
		"2024-01-04,105,110,104,108,1,0,1,\n" +
		"2024-01-05,109,111,107,110,1,0,0,\n" +
		"2024-01-06,110,111,109,110,1,0,0,\n"
	if err := os.WriteFile(filepath.Join(dir, "SPY_USD-1d.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := parse(t, `{"strategy":"signals","timeframe":"1d","datadir":"`+dir+`","fee":0,
		"exchange":{"name":"none","pair_whitelist":["SPY/USD"]},"max_open_trades":1}`)
	st, _ := strategy.Lookup("signals")
	res, err := Run(context.Background(), cfg, st, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trades) != 1 {
		t.Fatalf("trades %+v", res.Trades)
	}
	tr := res.Trades[0]
	if tr.OpenRate != 102 || tr.CloseRate != 109 || tr.ExitReason != trade.ExitSignal || tr.EnterTag != "dip" {
		t.Fatalf("trade %+v", tr)
	}
	if res.StakeCurrency != "USD" {
		t.Fatalf("stake currency %q", res.StakeCurrency)
	}
}

func TestRunSignalsNeedsSignalColumns(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `{"strategy":"signals","timeframe":"5m","datadir":"../../examples/data",
		"exchange":{"name":"binance","pair_whitelist":["ETH/BTC"]}}`)
	st, _ := strategy.Lookup("signals")
	_, err := Run(context.Background(), cfg, st, quiet())
	if err == nil || !strings.Contains(err.Error(), "no signal columns") {
		t.Fatalf("got %v", err)
	}
}

// Timerange cuts the traded candles; startup candles come from before it.
func TestRunTimerangeAndStartup(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `{"strategy":"sma_cross","timeframe":"5m","datadir":"../../examples/data",
		"exchange":{"name":"binance","pair_whitelist":["ETH/BTC","LTC/BTC"]},"timerange":"20180115-20180120"}`)
	st, _ := strategy.Lookup("sma_cross")
	res, err := Run(context.Background(), cfg, st, quiet())
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := config.ParseTimerange("20180115-20180120")
	if res.Start != tr.Start || res.End != tr.End-5*60_000 {
		t.Fatalf("range %d-%d, want %d-%d", res.Start, res.End, tr.Start, tr.End-5*60_000)
	}
	if res.Candles != 2*5*288 {
		t.Fatalf("%d candles", res.Candles)
	}
	for _, x := range res.Trades {
		if x.OpenTime <= tr.Start || x.CloseTime >= tr.End {
			t.Fatalf("trade outside the range: %+v", x)
		}
	}
}

func TestRunMissingPairFile(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `{"strategy":"sma_cross","datadir":"../../examples/data",
		"exchange":{"name":"binance","pair_whitelist":["NOPE/BTC"]}}`)
	st, _ := strategy.Lookup("sma_cross")
	_, err := Run(context.Background(), cfg, st, quiet())
	if err == nil || !strings.Contains(err.Error(), "NOPE_BTC-5m") {
		t.Fatalf("got %v", err)
	}
}

func TestRunBadParams(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `{"strategy":"sma_cross","datadir":"../../examples/data","strategy_params":{"fast":500},
		"exchange":{"name":"binance","pair_whitelist":["ETH/BTC"]}}`)
	st, _ := strategy.Lookup("sma_cross")
	_, err := Run(context.Background(), cfg, st, quiet())
	if err == nil || !strings.Contains(err.Error(), `parameter "fast"`) {
		t.Fatalf("got %v", err)
	}
}

// The data fingerprint names the candles read: the same data gives the
// same fingerprint, whatever the strategy; another range, another pair
// list or one changed candle gives another.
func TestRunDataFingerprint(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, datadir, strat, pairs, timerange string) string {
		t.Helper()
		cfg := parse(t, `{"strategy":"`+strat+`","timeframe":"5m","datadir":"`+datadir+`",
			"exchange":{"name":"binance","pair_whitelist":[`+pairs+`]},"timerange":"`+timerange+`"}`)
		st, _ := strategy.Lookup(strat)
		res, err := Run(context.Background(), cfg, st, quiet())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res.DataFingerprint, "xxh64:") || len(res.DataFingerprint) != 22 {
			t.Fatalf("fingerprint %q", res.DataFingerprint)
		}
		return res.DataFingerprint
	}
	const data = "../../examples/data"
	base := run(t, data, "sma_cross", `"ETH/BTC","LTC/BTC"`, "20180115-20180120")
	if again := run(t, data, "sma_cross", `"ETH/BTC","LTC/BTC"`, "20180115-20180120"); again != base {
		t.Fatalf("same run, fingerprints %s and %s", base, again)
	}
	for name, fp := range map[string]string{
		"another range": run(t, data, "sma_cross", `"ETH/BTC","LTC/BTC"`, "20180115-20180121"),
		"another pair":  run(t, data, "sma_cross", `"ETH/BTC","XMR/BTC"`, "20180115-20180120"),
		"pair order":    run(t, data, "sma_cross", `"LTC/BTC","ETH/BTC"`, "20180115-20180120"),
	} {
		if fp == base {
			t.Errorf("%s: same fingerprint %s", name, fp)
		}
	}

	// One candle's close changed in a copy of the data.
	dir := t.TempDir()
	store, err := market.Open(data, quiet())
	if err != nil {
		t.Fatal(err)
	}
	copyStore, err := market.Open(dir, quiet())
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range []string{"ETH/BTC", "LTC/BTC"} {
		k := market.Key{Exchange: "binance", Pair: pair, Timeframe: "5m"}
		f, err := store.Load(context.Background(), k, market.Range{})
		if err != nil {
			t.Fatal(err)
		}
		if pair == "LTC/BTC" {
			i := f.Search(1516200000000) // inside the range
			f.Close[i] *= 1.0001
			f.High[i] = max(f.High[i], f.Close[i])
		}
		if _, err := copyStore.Append(context.Background(), k, f); err != nil {
			t.Fatal(err)
		}
	}
	if changed := run(t, dir, "sma_cross", `"ETH/BTC","LTC/BTC"`, "20180115-20180120"); changed == base {
		t.Fatal("a changed candle kept the fingerprint")
	}
}
