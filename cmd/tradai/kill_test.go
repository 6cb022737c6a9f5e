package main

import (
	"context"
	"fmt"
	"github.com/tradai/tradai/internal/sandbox"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/market"
)

// TestMain lets a test run the real binary's main in a child process: the
// test binary re-executes itself with TRADAI_MAIN=1 and the CLI arguments
// (and, as the binary does, as a strategy sandbox's init).
func TestMain(m *testing.M) {
	sandbox.Main() // a strategy sandbox's init, when a child re-executes this binary as one
	if os.Getenv("TRADAI_MAIN") == "1" {
		os.Args = append([]string{"tradai"}, strings.Split(os.Getenv("TRADAI_ARGS"), "\x1f")...)
		main()
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "tradai-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testBinDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// testBinDir is the folder of the binaries the tests build (buildTradai),
// made and removed by TestMain.
var testBinDir string

// A download killed outright (SIGKILL, no chance to flush) leaves a valid
// store, and the next run completes it without duplicates, ending identical
// to an uninterrupted download.
func TestDownloadKilledProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the CLI in a child process")
	}
	listed := time.Now().Add(-70 * 24 * time.Hour)

	// The child is killed while its 70th request is being answered: past
	// the flush of the first 50,000 candles, before the next.
	reached := make(chan struct{})
	var once sync.Once
	release := make(chan struct{})
	defer close(release)
	var seen atomic.Int64
	srv, _ := fakeBinanceHook(t, listed, func() {
		if seen.Add(1) == 70 {
			once.Do(func() { close(reached) })
			<-release
		}
	})
	dir := t.TempDir()
	args := []string{"data", "download", "--datadir", dir, "--base-url", srv.URL, "--pairs", "BTC/USDT", "--timeframes", "1m", "--days", "60"}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TRADAI_MAIN=1", "TRADAI_ARGS="+strings.Join(args, "\x1f"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	select {
	case <-reached:
	case <-ctx.Done():
		cmd.Process.Kill()
		t.Fatalf("the child never reached request 70:\n%s", out.String())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	k := market.Key{Exchange: "binance", Pair: "BTC/USDT", Timeframe: "1m"}
	s, err := market.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	part, err := s.Load(t.Context(), k, market.Range{})
	if err != nil {
		t.Fatalf("store after the kill: %v\n%s", err, out.String())
	}
	if part.Len() < 50_000 || part.Len() >= 60*1440 {
		t.Fatalf("after the kill %d candles are stored; want the first flush (50,000) but not all", part.Len())
	}

	// The next run completes the series without duplicates.
	outText, _, err := execute(t, args...)
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, outText)
	}
	full, err := s.Load(t.Context(), k, market.Range{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Coverage(t.Context(), k)
	if err != nil || info.Missing != 0 || info.Count != full.Len() {
		t.Fatalf("after resuming: %+v, %v", info, err)
	}
	// Identical to an uninterrupted download of the same range.
	ref := t.TempDir()
	refArgs := append([]string{}, args...)
	refArgs[3] = ref
	refArgs = append(refArgs[:len(refArgs)-2], "--timerange", fmt.Sprintf("%s-", time.UnixMilli(full.Time[0]).UTC().Format("20060102")))
	if _, _, err := execute(t, refArgs...); err != nil {
		t.Fatal(err)
	}
	rs, _ := market.Open(ref, nil)
	want, err := rs.Load(t.Context(), k, market.Range{Start: full.Time[0], End: full.Time[full.Len()-1] + 1})
	if err != nil {
		t.Fatal(err)
	}
	if want.Len() != full.Len() {
		t.Fatalf("resumed series has %d candles, an uninterrupted download %d", full.Len(), want.Len())
	}
	for i := range want.Time {
		if want.Time[i] != full.Time[i] || want.Close[i] != full.Close[i] {
			t.Fatalf("candle %d differs after resuming", i)
		}
	}
}
