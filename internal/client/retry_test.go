package client

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// dropper accepts connections and closes them at once, counting them.
func dropper(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return "http://" + ln.Addr().String(), &n
}

func TestRepeatableRequestsRetryConnectionErrors(t *testing.T) {
	url, conns := dropper(t)
	c, err := New(url, "tdi_x", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	ctx := context.Background()

	_, err = c.Get(ctx, "run_1")
	if err == nil || !strings.HasPrefix(err.Error(), "get run run_1 from "+url+"/api/v1/backtests/run_1: ") {
		t.Fatalf("get: %v", err)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("GET tried %d times, want 3 (1 + 2 retries)", n)
	}
	if len(waits) != 2 || waits[0] != 250*time.Millisecond || waits[1] != 500*time.Millisecond {
		t.Errorf("back-off waits %v", waits)
	}

	conns.Store(0)
	if _, err := c.Cancel(ctx, "run_1"); err == nil {
		t.Fatal("cancel against a dropping server succeeded")
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("cancel (not repeatable) tried %d times, want 1", n)
	}
}

func TestConnectionRefusedHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := New("http://"+addr, "tdi_x", Options{ConnRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.List(context.Background(), ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "is tradai serve running there?") || !strings.HasPrefix(err.Error(), "list runs from http://"+addr) {
		t.Fatalf("refused: %v", err)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"Fri, 02 Jan 2026 03:04:15 GMT": 10 * time.Second,
		"Fri, 02 Jan 2026 03:04:00 GMT": 0,
	} {
		if got := retryAfter(h, now); got != want {
			t.Errorf("Retry-After %q = %s, want %s", h, got, want)
		}
	}
}
