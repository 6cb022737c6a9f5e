package binanceapi

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
)

// TestCCXT runs test/ccxt/sim.mjs — ccxt's binance class from npm, its API
// URLs pointed at the simulator — against a test server. It installs the
// script's locked dependencies (npm ci) when they are missing, and skips
// only when node is not installed.
func TestCCXT(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the ccxt proof needs it")
	}
	dir, err := filepath.Abs("../../../test/ccxt")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ccxt")); err != nil {
		npm := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		npm.Dir = dir
		if out, err := npm.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	e := setup(t, func(c *Config) { c.Clock = clock.Real() })
	cmd := exec.CommandContext(ctx, node, "sim.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SIM_URL="+e.srv.URL, "SIM_API_KEY="+testKey, "SIM_SECRET="+testSecret)
	var stderr []byte
	out, err := cmd.Output()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		stderr = ee.Stderr
	}
	if err != nil {
		t.Fatalf("ccxt script: %v\nstdout: %s\nstderr: %s", err, out, stderr)
	}
	var got struct {
		Market struct {
			ID              string
			Spot            bool
			AmountPrecision float64
			PricePrecision  float64
			MinCost         float64
		}
		OHLCV struct {
			Count     int
			LastClose float64
		}
		Ticker struct{ Last, Bid, Ask float64 }
		Limit  struct {
			Status, ClientOrderID, FetchedStatus, Cancelled string
			FetchedPrice                                    float64
			Open                                            int
		}
		MarketOrder struct {
			Status, FetchedStatus string
			Filled, Average       float64
			Fee                   struct {
				Cost     float64
				Currency string
			}
		} `json:"market_order"`
		Sell struct {
			Status string
			Filled float64
		}
		Trades []struct {
			Side          string
			Amount, Price float64
			TakerOrMaker  string
		}
		Insufficient string
		WatchOHLCV   struct {
			Count                            int
			Time, Close, RestTime, RestClose float64
		}
		BalanceAfter struct {
			USDT, BTC struct{ Free, Used, Total float64 }
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("ccxt output %s: %v", out, err)
	}
	if got.Market.ID != "BTCUSDT" || !got.Market.Spot || got.Market.AmountPrecision != 0.001 || got.Market.PricePrecision != 0.1 || got.Market.MinCost != 5 {
		t.Errorf("market = %+v", got.Market)
	}
	if got.OHLCV.Count != 5 || got.OHLCV.LastClose != 105 || got.Ticker.Last != 105 {
		t.Errorf("market data = %+v %+v", got.OHLCV, got.Ticker)
	}
	if got.Limit.Status != "open" || got.Limit.ClientOrderID != "ccxt-1" || got.Limit.FetchedStatus != "open" || got.Limit.FetchedPrice != 100.1 || got.Limit.Open != 1 || got.Limit.Cancelled != "canceled" {
		t.Errorf("limit order = %+v", got.Limit)
	}
	if got.MarketOrder.Status != "closed" || got.MarketOrder.Filled != 0.2 || got.MarketOrder.Average != 105 || got.MarketOrder.Fee.Currency != "BTC" || got.MarketOrder.Fee.Cost != 0.0002 {
		t.Errorf("market order = %+v", got.MarketOrder)
	}
	if got.Sell.Status != "closed" || len(got.Trades) != 2 || got.Trades[0].Side != "buy" || got.Trades[1].Side != "sell" || got.Trades[0].TakerOrMaker != "taker" {
		t.Errorf("sell %+v trades %+v", got.Sell, got.Trades)
	}
	if got.Insufficient != "InsufficientFunds" {
		t.Errorf("insufficient balance raised %q", got.Insufficient)
	}
	if w := got.WatchOHLCV; w.Count < 1 || w.Time != w.RestTime || w.Close != w.RestClose || w.Close == 0 {
		t.Errorf("watchOHLCV = %+v", w)
	}
	// 1 + 0.2 − 0.0002 fee − 0.1 BTC; 10000 − 21 + 10.5 − 0.0105 fee USDT.
	if got.BalanceAfter.BTC.Total != 1.0998 || got.BalanceAfter.USDT.Total != 9989.4895 {
		t.Errorf("balances after = %+v", got.BalanceAfter)
	}
}
