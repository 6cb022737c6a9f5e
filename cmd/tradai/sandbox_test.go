package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A tenant's pushed strategy runs on a real server in the process sandbox,
// without --allow-external-strategies: the push reads its spec in the
// sandbox, the backtest of NAME@1 completes, and code that reaches for the
// server's token file fails its run instead of reading it.
func TestServeRunsPushedStrategiesInTheSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no python3")
	}
	home := t.TempDir()
	data, err := filepath.Abs("../../examples/data")
	if err != nil {
		t.Fatal(err)
	}
	bin := buildTradai(t)
	srv := startProcess(t, bin, "serve", "--home", home, "--datadir", data, "--addr", "127.0.0.1:0", "--workers", "1", "--log-level", "warn")
	url := srv.serving(t)
	cli := func(args ...string) (string, string, error) {
		t.Helper()
		return execute(t, append(args, "--remote", url, "--home", home)...)
	}
	t.Chdir("../..")
	if out, errOut, err := cli("strategy", "push", "examples/strategies/python/sma_cross.py", "--name", "mysma"); err != nil || !strings.HasPrefix(out, "pushed mysma@1") {
		t.Fatalf("push: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err := cli("backtest", "--config", "examples/backtest.json", "--strategy", "mysma@1", "--timerange", "20180115-20180120")
	if err != nil || !strings.Contains(out, "Result for strategy") {
		t.Fatalf("backtest of mysma@1 in the sandbox: %v\n%s%s", err, out, errOut)
	}

	// A strategy that reads the server's token file while it populates.
	src, err := os.ReadFile("examples/strategies/python/sma_cross.py")
	if err != nil {
		t.Fatal(err)
	}
	// Read the token at import time: the push's spec handshake already fails.
	token := filepath.Join(home, "token")
	evil := filepath.Join(t.TempDir(), "evil.py")
	if err := os.WriteFile(evil, append([]byte("_STOLEN = open("+strconv.Quote(token)+").read()\n"), src...), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = cli("strategy", "push", evil, "--name", "evil")
	if err == nil {
		t.Fatalf("a strategy reading the server's token file was pushed:\n%s%s", out, errOut)
	}
	tok, _ := os.ReadFile(token)
	if strings.Contains(err.Error()+out+errOut, strings.TrimSpace(string(tok))) {
		t.Fatal("the token reached the tenant")
	}
	if !strings.Contains(err.Error(), "No such file or directory") && !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("push of a token reader: %v; want the sandbox's refusal (no such file or permission denied)", err)
	}
}
