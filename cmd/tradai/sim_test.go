package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/spf13/pflag"
)

// runSim starts `tradai sim` with args and returns its base URL and a stop
// function that waits for it to end.
func runSim(t *testing.T, args ...string) (string, func()) {
	t.Helper()
	ready := make(chan string, 1)
	logger := func() (*slog.Logger, error) { return slog.New(slog.DiscardHandler), nil }
	cmd := newSimCmdWith(logger, func(addr string) { ready <- addr })
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	select {
	case addr := <-ready:
		return "http://" + addr, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("sim: %v", err)
			}
		}
	case err := <-done:
		cancel()
		t.Fatalf("sim did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("sim did not start within 30s")
	}
	return "", nil
}

type simClient struct {
	t           *testing.T
	base        string
	key, secret string
}

func (c simClient) call(method, path string, v url.Values, out any) int {
	c.t.Helper()
	if c.key != "" {
		v.Set("timestamp", strconv.FormatInt(time.Now().UnixMilli(), 10))
		m := hmac.New(sha256.New, []byte(c.secret))
		m.Write([]byte(v.Encode()))
		v.Set("signature", hex.EncodeToString(m.Sum(nil)))
	}
	req, _ := http.NewRequest(method, c.base+path+"?"+v.Encode(), nil)
	if c.key != "" {
		req.Header.Set("X-MBX-APIKEY", c.key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %s", method, path, b)
		}
	}
	return res.StatusCode
}

func TestSimCommandSurvivesRestart(t *testing.T) {
	t.Setenv("TRADAI_DATABASE", "")
	home := t.TempDir()
	out, _, err := execute(t, "sim", "accounts", "create", "alice", "--home", home)
	if err != nil {
		t.Fatalf("accounts create: %v", err)
	}
	key := regexp.MustCompile(`api key:\s+(\S+)`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`secret key:\s+(\S+)`).FindStringSubmatch(out)
	if key == nil || secret == nil {
		t.Fatalf("accounts create printed %q", out)
	}
	if out, _, err := execute(t, "sim", "accounts", "fund", "alice", "BTC", "2.5", "--home", home); err != nil || !strings.Contains(out, "alice BTC: free 2.50000000") {
		t.Fatalf("accounts fund: %q, %v", out, err)
	}
	if _, _, err := execute(t, "sim", "accounts", "fund", "bob", "BTC", "1", "--home", home); err == nil {
		t.Fatal("funded an unknown account")
	}
	args := []string{"--home", home, "--datadir", "../../examples/data", "--pairs", "ETH/BTC", "--timeframe", "5m", "--speed", "0", "--addr", "127.0.0.1:0"}

	base, stop := runSim(t, args...)
	admin := simClient{t: t, base: base}
	var clock struct{ SimTime int64 }
	if st := admin.call("POST", "/sim/v1/step", url.Values{"candles": {"12"}}, &clock); st != 200 || clock.SimTime == 0 {
		t.Fatalf("step: %d %+v", st, clock)
	}
	c := simClient{t: t, base: base, key: key[1], secret: secret[1]}
	var price struct{ Price string }
	c.call("GET", "/api/v3/ticker/price", url.Values{"symbol": {"ETHBTC"}}, &price)
	p, _ := strconv.ParseFloat(price.Price, 64)
	var placed struct {
		OrderID int64
		Status  string
	}
	limit := strconv.FormatFloat(p*0.9, 'f', 6, 64)
	if st := c.call("POST", "/api/v3/order", url.Values{"symbol": {"ETHBTC"}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
		"quantity": {"1"}, "price": {limit}}, &placed); st != 200 || placed.Status != "NEW" {
		t.Fatalf("order: %d %+v", st, placed)
	}
	stop()

	base, stop = runSim(t, args...)
	defer stop()
	c.base, admin.base = base, base
	var open []struct{ OrderID int64 }
	if st := c.call("GET", "/api/v3/openOrders", url.Values{"symbol": {"ETHBTC"}}, &open); st != 200 || len(open) != 1 || open[0].OrderID != placed.OrderID {
		t.Fatalf("open orders after restart: %d %+v", st, open)
	}
	var acct struct {
		Balances []struct{ Asset, Free, Locked string }
	}
	c.call("GET", "/api/v3/account", url.Values{}, &acct)
	if len(acct.Balances) != 1 || acct.Balances[0].Locked == "0.00000000" {
		t.Fatalf("balances after restart: %+v", acct)
	}
	var clock2 struct{ SimTime int64 }
	admin.call("GET", "/sim/v1/clock", url.Values{}, &clock2)
	if clock2.SimTime != clock.SimTime {
		t.Fatalf("simulation time after restart %d, want %d", clock2.SimTime, clock.SimTime)
	}
}

// lockedBuffer is an io.Writer that can be read while a command writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeEmbedsSimulator runs `tradai serve --sim`: the simulator
// listens on --sim-addr beside the API, on the platform's database and
// data folder, REST and streams alike.
func TestServeEmbedsSimulator(t *testing.T) {
	t.Setenv("TRADAI_DATABASE", "")
	home := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- executeCtx(ctx, out, io.Discard, "serve", "--home", home, "--datadir", "../../examples/data", "--addr", "127.0.0.1:0",
			"--workers", "0", "--sim", "--sim-pairs", "ETH/BTC", "--sim-timeframe", "5m", "--sim-speed", "0", "--sim-addr", "127.0.0.1:0")
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	addrRe := regexp.MustCompile(`simulator listening on (http://\S+)`)
	var base string
	waitFor(t, "the simulator", func() bool {
		m := addrRe.FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil && strings.Contains(out.String(), "serving on")
	})
	admin := simClient{t: t, base: base}
	var acct struct{ Account, APIKey, SecretKey string }
	if st := admin.call("POST", "/sim/v1/accounts", url.Values{"name": {"alice"}}, &acct); st != 200 || acct.APIKey == "" {
		t.Fatalf("create account: %d %+v", st, acct)
	}
	ctxd, canceld := context.WithTimeout(ctx, 5*time.Second)
	defer canceld()
	ws, _, err := websocket.Dial(ctxd, "ws"+strings.TrimPrefix(base, "http")+"/ws/ethbtc@kline_5m", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	c := simClient{t: t, base: base, key: acct.APIKey, secret: acct.SecretKey}
	var lk struct{ ListenKey string }
	req, _ := http.NewRequest("POST", base+"/api/v3/userDataStream", nil)
	req.Header.Set("X-MBX-APIKEY", c.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(res.Body).Decode(&lk)
	res.Body.Close()
	if lk.ListenKey == "" {
		t.Fatalf("no listen key: %d", res.StatusCode)
	}
	// Step until the subscription has seen a candle close.
	for i := 0; ; i++ {
		admin.call("POST", "/sim/v1/step", url.Values{"candles": {"1"}}, nil)
		rctx, rcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, b, err := ws.Read(rctx)
		rcancel()
		if err == nil {
			if !strings.Contains(string(b), `"e":"kline"`) || !strings.Contains(string(b), `"s":"ETHBTC"`) {
				t.Fatalf("kline event %s", b)
			}
			break
		}
		if i > 20 {
			t.Fatalf("no kline event: %v", err)
		}
		// A read timeout closes the websocket: dial again.
		ws, _, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws/ethbtc@kline_5m", nil)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestSimModeFlags: the mode flags are checked before anything starts,
// naming the flag; --speed counts as given only when typed.
func TestSimModeFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the error; "" for none
	}{
		{[]string{"--mode", "shifted"}, ""},
		{[]string{"--mode", "live", "--upstream", "http://127.0.0.1:1"}, ""},
		{[]string{"--mode", "later"}, `--mode "later": want replay, shifted or live`},
		{[]string{"--mode", "live"}, "--mode live needs --upstream"},
		{[]string{"--upstream", "http://x"}, "--upstream is for --mode live"},
		{[]string{"--mode", "live", "--upstream", "http://x", "--start", "20240101"}, "--start is for the replay and shifted modes"},
		{[]string{"--mode", "live", "--upstream", "http://x", "--speed", "60"}, "--speed 60: a live market runs on the wall clock"},
		{[]string{"--mode", "live", "--upstream", "http://x", "--warmup", "0"}, "--warmup 0: want at least 1"},
	} {
		var o simFlags
		fs := pflag.NewFlagSet("sim", pflag.ContinueOnError)
		o.addFlags(fs, "")
		if err := fs.Parse(append([]string{"--pairs", "ETH/BTC"}, tc.args...)); err != nil {
			t.Fatal(err)
		}
		cfg, err := o.serverConfig()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		case tc.want == "" && cfg.SpeedGiven:
			t.Errorf("%v: speed counted as given", tc.args)
		}
	}
	var o simFlags
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	o.addFlags(fs, "sim-")
	if err := fs.Parse([]string{"--sim-pairs", "ETH/BTC", "--sim-speed", "0"}); err != nil {
		t.Fatal(err)
	}
	if cfg, err := o.serverConfig(); err != nil || !cfg.SpeedGiven || cfg.Speed != 0 || cfg.Mode != "replay" {
		t.Fatalf("serve --sim-speed 0: %+v, %v", cfg, err)
	}
}
