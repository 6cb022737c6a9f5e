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

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/simserver"
)

// proofMode is the --mode the ccxt proof runs in: "replay" checks all but
// what needs the market's time to be now (fetch_ohlcv since now − 1 h,
// orders stamped now). Switch it to "shifted" (or "live") with a Config
// that maps the replay onto the present, and those checks run too.
const proofMode = "replay"

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

	ctx := t.Context()
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "tradai.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Real time for the API (ccxt signs with the wall clock); the replay
	// moves only when stepped.
	s, err := simserver.New(simserver.Config{DB: d, DataDir: exampleData(), Pairs: []string{"ETH/BTC", "LTC/BTC"}, Timeframe: "5m",
		Addr: "127.0.0.1:0", Speed: 0, Engine: sim.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	<-s.Ready()
	base := "http://" + s.Addr().String()
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
	admin("/sim/v1/step", url.Values{"candles": {"300"}}) // a day of history for the tickers
	acct := admin("/sim/v1/accounts", url.Values{"name": {"ccxt"}})
	admin("/sim/v1/fund", url.Values{"account": {acct["account"].(string)}, "asset": {"BTC"}, "amount": {"1"}})

	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(pctx, node, "proof.mjs", base, acct["apiKey"].(string), acct["secretKey"].(string), "--mode", proofMode)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	if err != nil {
		t.Fatalf("ccxt proof: %v\n%s\n%s", err, strings.TrimSpace(stderr.String()), stdout.String())
	}
	var got struct {
		Steps   map[string]int
		TotalMs int
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || got.TotalMs == 0 || len(got.Steps) < 20 {
		t.Fatalf("ccxt proof output %s: %v", stdout.Bytes(), err)
	}
	t.Logf("ccxt proof (%s mode): %d steps in %d ms (%v with node's start)", proofMode, len(got.Steps), got.TotalMs, time.Since(start).Round(time.Millisecond))
}
