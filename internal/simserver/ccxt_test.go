package simserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/simserver"
)

// TestCCXTProof runs test/ccxt/proof.mjs — ccxt's binance class from npm
// (locked), only its URLs pointed at the simulator — against a simulator
// on loopback: a fresh account makes the calls a Freqtrade bot makes at
// start and in its loop, over REST, the WebSocket API and the streams.
// It needs node and `npm ci --prefix test/ccxt` (.ci/run does both); it
// skips without them, except under CI=true, where it fails.
func TestCCXTProof(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "test", "ccxt"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "ccxt", "package.json"))
	}
	if err != nil {
		msg := "the ccxt proof needs node and ccxt: run `npm ci --prefix test/ccxt` (" + err.Error() + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	// Replay: the clock moves only when the proof steps it (so the market
	// data streams have something to send).
	t.Run("replay", func(t *testing.T) {
		base := startProofSim(t, simserver.Config{DataDir: clienttest.ExampleData()})
		runProof(t, node, dir, base, "replay")
	})
	// Shifted: the sample history from 20 January 2018 mapped onto the
	// present, in real time (ten days of candles before now for the
	// tickers and since-queries). Live: a simulator fed by that one as its
	// upstream, as it would be by Binance.
	t.Run("shifted", func(t *testing.T) {
		base := startProofSim(t, simserver.Config{Mode: simserver.ModeShifted, DataDir: clienttest.ExampleData()})
		runProof(t, node, dir, base, "shifted")
	})
	t.Run("live", func(t *testing.T) {
		up := startProofSim(t, simserver.Config{Mode: simserver.ModeShifted, DataDir: clienttest.ExampleData()})
		base := startProofSim(t, simserver.Config{Mode: simserver.ModeLive, Upstream: up, DataDir: t.TempDir()})
		runProof(t, node, dir, base, "live")
	})
}

// startProofSim starts a simulator of ETH/BTC and LTC/BTC 5m on loopback
// (from 20 January 2018, in real time except in replay mode, where it is
// paused for the proof to step) on a database of its own, and returns its
// URL.
func startProofSim(t *testing.T, cfg simserver.Config) string {
	t.Helper()
	ctx := t.Context()
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "tradai.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg.DB, cfg.Pairs, cfg.Timeframe, cfg.Addr, cfg.Engine = d, []string{"ETH/BTC", "LTC/BTC"}, "5m", "127.0.0.1:0", sim.DefaultConfig()
	if cfg.Mode != simserver.ModeLive {
		cfg.Start = time.Date(2018, 1, 20, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Mode != "" {
		cfg.Speed = 1
	}
	s, err := simserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	<-s.Ready()
	return "http://" + s.Addr().String()
}

// runProof creates and funds an account on the simulator at base and runs
// proof.mjs against it in mode.
func runProof(t *testing.T, node, dir, base, mode string) {
	t.Helper()
	admin := func(path string, v url.Values) map[string]any {
		t.Helper()
		res, err := http.Post(base+path+"?"+v.Encode(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %d %v %v", path, res.StatusCode, out, err)
		}
		return out
	}
	acct := admin("/sim/v1/accounts", url.Values{"name": {"ccxt"}})
	admin("/sim/v1/fund", url.Values{"account": {acct["account"].(string)}, "asset": {"BTC"}, "amount": {"1"}})

	pctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(pctx, node, "proof.mjs", base, acct["apiKey"].(string), acct["secretKey"].(string), "--mode", mode)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("ccxt proof: %v\n%s\n%s", err, strings.TrimSpace(stderr.String()), stdout.String())
	}
	var got struct {
		Steps   map[string]int
		TotalMs int
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || got.TotalMs == 0 || len(got.Steps) < 20 {
		t.Fatalf("ccxt proof output %s: %v", stdout.Bytes(), err)
	}
	t.Logf("ccxt proof (%s mode): %d steps in %d ms (%v with node's start)", mode, len(got.Steps), got.TotalMs, time.Since(start).Round(time.Millisecond))
}
