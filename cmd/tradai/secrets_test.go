package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/secrets"
)

// probeStrategy is the Python SMA cross with a thief inside: at import
// and at its first populate (after the runner opened the venue with the
// account's credentials) it reads its environment, /proc/self/environ,
// the environment and command line of every process it can see, and the
// files under its working folder, and raises naming where it found any
// of the hashed values. The values themselves are not in its code.
func probeStrategy(t *testing.T, hashes map[string]string) string {
	t.Helper()
	src, err := os.ReadFile("../../examples/strategies/python/sma_cross.py")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(hashes)
	probe := `
import hashlib as _hashlib, os as _os, re as _re

_WANT = ` + string(want) + `


def _texts():
    for k, v in _os.environ.items():
        yield "os.environ", k + "=" + v
    paths = ["/proc/self/environ", "/proc/self/cmdline"]
    for pid in _os.listdir("/proc"):
        if pid.isdigit():
            paths += ["/proc/%s/environ" % pid, "/proc/%s/cmdline" % pid]
    n = 0
    for root, _dirs, files in _os.walk("."):
        for f in files:
            n += 1
            if n < 2000:
                paths.append(_os.path.join(root, f))
    for p in paths:
        try:
            with open(p, "rb") as fh:
                yield p, fh.read(1 << 20).decode("latin-1")
        except OSError:
            pass


def _probe():
    seen = 0
    for where, text in _texts():
        seen += 1
        for tok in _re.split(r"[\x00\s=\"':,;&?]+", text):
            h = _hashlib.sha256(tok.encode("latin-1")).hexdigest()
            if h in _WANT:
                raise RuntimeError("FOUND %s in %s" % (_WANT[h], where))
    return seen


_SEEN = _probe()
_PROBED = [False]
`
	// After the SDK's import line, whatever it imports.
	imp := regexp.MustCompile(`(?m)^from tradai_strategy import [^\n]*\n`).FindStringIndex(string(src))
	if imp == nil {
		t.Fatal("the example strategy does not import tradai_strategy")
	}
	s := string(src[:imp[1]]) + probe + string(src[imp[1]:])
	s = strings.Replace(s, "    def populate(self, candles, params, signals):\n", "    def populate(self, candles, params, signals):\n        if not _PROBED[0]:\n            _probe()\n            _PROBED[0] = True\n", 1)
	s = strings.Replace(s, `name = "sma_cross_py"`, `name = "probe_py"`, 1)
	if !strings.Contains(s, "_probe()\n            _PROBED") || !strings.Contains(s, "_SEEN = _probe()") {
		t.Fatal("the probe was not inserted into the example strategy")
	}
	path := filepath.Join(t.TempDir(), "probe.py")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// The probe finds a secret where one is: it would have caught a leak.
func TestProbeStrategyFindsAPlantedSecret(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	py := probeStrategy(t, map[string]string{hashHex("planted-secret-123"): "the secret"})
	sdk, err := filepath.Abs("../../sdk/python")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() // its working folder: nothing planted there
	cmd := exec.Command("python3", py, "--spec")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "PYTHONPATH="+sdk, "SOME_VAR=planted-secret-123")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "FOUND the secret in os.environ") {
		t.Fatalf("the probe missed a secret in its environment: %v\n%s", err, out)
	}
	cmd = exec.Command("python3", py, "--spec")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "PYTHONPATH="+sdk)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the probe without a planted secret: %v\n%s", err, out)
	}
}

// Secret hygiene, end to end: a tenant adds a simulator account's key, tests
// it, and trades live with it through a Python strategy that hunts for the
// key; every log line of the platform and every API answer of the session
// is searched for the key, the secret and the key-encryption key.
func TestSecretHygieneLiveSession(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	remoteEnv(t)
	kekText := secrets.GenerateKEK()
	kek, err := secrets.ParseKEK(kekText)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	t0 := time.Date(2018, 1, 11, 0, 0, 0, 0, time.UTC)
	p, clk, home, simURL := deployServer(t, t0, func(c *platform.Config) {
		c.KEK = kek
		c.AllowExternalStrategies = true
		c.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	// The simulator's account: its key and secret are what the tenant adds.
	admin := simClient{t: t, base: simURL}
	var acct struct{ Account, APIKey, SecretKey string }
	if st := admin.call("POST", "/sim/v1/accounts", url.Values{"name": {"live-desk"}}, &acct); st != 200 || acct.APIKey == "" {
		t.Fatalf("create the simulator account: %d", st)
	}
	if st := admin.call("POST", "/sim/v1/fund", url.Values{"account": {acct.Account}, "asset": {"BTC"}, "amount": {"1"}}, nil); st != 200 {
		t.Fatalf("fund: %d", st)
	}
	key, secret := acct.APIKey, acct.SecretKey

	var answers bytes.Buffer // everything the API and the CLI answered
	cli := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		root := newRootCmd(&out, &errb)
		root.SetIn(strings.NewReader(stdin))
		root.SetArgs(expandListArgs(append(args, "--remote", p.URL(), "--home", home)))
		err := root.ExecuteContext(context.Background())
		fmt.Fprintf(&answers, "%s\n%s\n%v\n", out.String(), errb.String(), err)
		return out.String(), err
	}
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, err := cli(stdin, args...)
		if err != nil {
			t.Fatalf("tradai %s: %v", strings.Join(args, " "), err)
		}
		return out
	}

	out := must(key+"\n"+secret+"\n", "accounts", "add", "--venue", "sim", "--name", "live1")
	if !strings.Contains(out, "key fingerprint "+secrets.Fingerprint(key)) {
		t.Fatalf("accounts add: %s", out)
	}
	if _, err := cli(key+"\n"+secret+"\n", "accounts", "add", "--venue", "sim", "--name", "live1"); err == nil || !strings.Contains(err.Error(), "live1") {
		t.Errorf("a second account of the same name: %v", err)
	}
	if out := must("", "accounts", "test", "live1"); !strings.Contains(out, "may trade and may not withdraw") {
		t.Errorf("accounts test: %s", out)
	}
	must("binancekey\nbinancesecret\n", "accounts", "add", "--venue", "binance", "--name", "bn")
	must("hlkey\nhlsecret\n", "accounts", "add", "--venue", "hyperliquid", "--name", "hl")
	// Its secret is no private key: the test fails before any request,
	// and says so without quoting it.
	if out, err := cli("", "accounts", "test", "hl"); err == nil || strings.Contains(out, "hlsecret") {
		t.Errorf("accounts test of a hyperliquid account with no private key: %v\n%s", err, out)
	}
	if out := must("", "accounts", "list"); !strings.Contains(out, "live1") || !strings.Contains(out, secrets.Fingerprint(key)) {
		t.Errorf("accounts list: %s", out)
	}
	must("", "accounts", "show", "live1", "--json")
	must("", "accounts", "list", "--json")

	// Live deployments name a stored account of their venue.
	create := []string{"deploy", "create", "--mode", "live", "--venue", "sim", "--pairs", "ETH/BTC", "--timeframe", "5m"}
	if _, err := cli("", append(create, "--strategy", "sma_cross", "--account", "nope")...); err == nil || !strings.Contains(err.Error(), "account") || !strings.Contains(err.Error(), "tradai accounts add") {
		t.Errorf("live with no such account: %v", err)
	}
	if _, err := cli("", append(create, "--strategy", "sma_cross", "--account", "bn")...); err == nil || !strings.Contains(err.Error(), "account") || !strings.Contains(err.Error(), "venue binance") {
		t.Errorf("live on sim with a binance account: %v", err)
	}

	// The thief: hunts for the key, the secret and the KEK.
	py := probeStrategy(t, map[string]string{hashHex(key): "the API key", hashHex(secret): "the secret", hashHex(kekText): "the key-encryption key"})
	if out := must("", "strategy", "push", py, "--name", "probe"); !strings.Contains(out, "pushed probe@1") {
		t.Fatalf("push: %s", out)
	}
	cfg := filepath.Join(t.TempDir(), "live.json")
	if err := os.WriteFile(cfg, []byte(`{"stake_currency": "BTC", "stake_amount": "unlimited", "dry_run_wallet": 1, "max_open_trades": 1, "stoploss": -0.05}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var dep apitype.Deployment
	if err := json.Unmarshal([]byte(must("", append(create, "--strategy", "probe@1", "--account", "live1", "--config", cfg, "--json")...)), &dep); err != nil {
		t.Fatal(err)
	}
	show := func() apitype.Deployment {
		t.Helper()
		var d apitype.Deployment
		if err := json.Unmarshal([]byte(must("", "deploy", "show", dep.ID, "--json")), &d); err != nil {
			t.Fatal(err)
		}
		if d.State == "failed" {
			t.Fatalf("the live deployment failed: %s", d.Error)
		}
		return d
	}
	clk.Advance(10 * time.Second)
	waitFor(t, "the live deployment to run", func() bool { return show().State == "running" })
	close := t0
	for range 288 {
		close = close.Add(5 * time.Minute)
		clk.Set(close)
		waitFor(t, "the tick at "+close.String(), func() bool {
			d := show()
			return d.LastTick != nil && !d.LastTick.Before(close)
		})
		if s := show().Summary; s != nil && s.ClosedTrades >= 1 {
			break
		}
	}
	if s := show().Summary; s == nil || s.ClosedTrades == 0 {
		t.Fatalf("the live deployment closed no trade: %+v", s)
	}
	if out := must("", "deploy", "orders", dep.ID, "--json"); !strings.Contains(out, "FILLED") {
		t.Errorf("deploy orders: %s", out)
	}
	must("", "deploy", "trades", dep.ID, "--json")
	must("", "deploy", "logs", dep.ID)
	must("", "deploy", "list", "--json")
	must("", "accounts", "remove", "hl")

	session := answers.String() + logs.String()
	if !strings.Contains(logs.String(), "venue account added") || !strings.Contains(answers.String(), dep.ID) {
		t.Fatal("the session's logs or answers are missing: the search below would prove nothing")
	}
	for what, v := range map[string]string{"API key": key, "secret": secret, "key-encryption key": kekText, "binance secret": "binancesecret"} {
		if strings.Contains(session, v) {
			i := strings.Index(session, v)
			t.Errorf("the %s shows in the session: …%s…", what, session[max(0, i-200):i])
		}
	}
	if strings.Contains(session, "FOUND ") {
		t.Errorf("the strategy found a credential: %s", session[strings.Index(session, "FOUND "):][:200])
	}
}

// The local accounts commands and the operator's key rotation.
func TestAccountsLocalAndKeyRotation(t *testing.T) {
	remoteEnv(t)
	t.Setenv("TRADAI_DATABASE", "")
	t.Setenv(secrets.EnvKEK, "")
	home := t.TempDir()
	dir := t.TempDir()
	oldKEK, newKEK := filepath.Join(dir, "kek"), filepath.Join(dir, "kek.new")
	run := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		root := newRootCmd(&out, &errb)
		root.SetIn(strings.NewReader(stdin))
		if args[1] != "new-kek" {
			args = append(args, "--home", home)
		}
		root.SetArgs(args)
		err := root.ExecuteContext(context.Background())
		return out.String() + errb.String(), err
	}
	if _, err := run("k1\ns1\n", "accounts", "add", "--venue", "sim", "--name", "a"); err == nil || !strings.Contains(err.Error(), "key-encryption key") {
		t.Fatalf("add without a KEK: %v", err)
	}
	for _, f := range []string{oldKEK, newKEK} {
		if out, err := run("", "accounts", "new-kek", f); err != nil || !strings.Contains(out, "written to") {
			t.Fatalf("new-kek: %v %s", err, out)
		}
	}
	if _, err := run("", "accounts", "new-kek", oldKEK); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("new-kek over an existing key: %v", err)
	}
	if out, err := run("k1\ns1\n", "accounts", "add", "--venue", "sim", "--name", "a", "--kek-file", oldKEK); err != nil || !strings.Contains(out, "fingerprint "+secrets.Fingerprint("k1")) {
		t.Fatalf("add: %v %s", err, out)
	}
	if out, err := run("", "accounts", "list"); err != nil || !strings.Contains(out, "a ") || strings.Contains(out, "s1") {
		t.Fatalf("list (no KEK needed): %v %s", err, out)
	}
	// The old KEK from the environment, as a server has it.
	b, _ := os.ReadFile(oldKEK)
	t.Setenv(secrets.EnvKEK, strings.TrimSpace(string(b)))
	if out, err := run("", "accounts", "rotate-key", "--new-kek-file", newKEK); err != nil || !strings.Contains(out, "1 account(s) re-wrapped") {
		t.Fatalf("rotate-key: %v %s", err, out)
	}
	if out, err := run("", "accounts", "rotate-key", "--new-kek-file", newKEK); err != nil || !strings.Contains(out, "0 account(s) re-wrapped") || !strings.Contains(out, "1 already") {
		t.Fatalf("rotate-key again: %v %s", err, out)
	}
	if out, err := run("", "accounts", "remove", "a"); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %v %s", err, out)
	}
	if _, err := run("", "accounts", "show", "a"); err == nil || !strings.Contains(err.Error(), "no account a") {
		t.Fatalf("show after remove: %v", err)
	}
}
