package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/tradai/tradai/internal/clock"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
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
	clk := clock.NewSkipping(time.Now())
	c, err := New(url, "tdi_x", Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	_, err = c.Get(ctx, "run_1")
	if err == nil || !strings.HasPrefix(err.Error(), "get run run_1 from "+url+"/api/v1/backtests/run_1: ") {
		t.Fatalf("get: %v", err)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("GET tried %d times, want 3 (1 + 2 retries)", n)
	}
	if waits := clk.Sleeps(); len(waits) != 2 || waits[0] != 250*time.Millisecond || waits[1] != 500*time.Millisecond {
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

// eofServer reads each request, notes its Idempotency-Key, and closes the
// connection without an answer for the first drops requests; then it
// answers 202 with a ticket.
func eofServer(t *testing.T, drops int) (string, func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		keys []string
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			keys = append(keys, req.Header.Get("Idempotency-Key"))
			n := len(keys)
			mu.Unlock()
			if n > drops {
				io.WriteString(c, "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 19\r\n\r\n{\"run_id\":\"run_1\"}\n")
			}
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return "http://" + ln.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(keys)
	}
}

// A submission whose connection is closed without an answer (EOF) is sent
// again with the same Idempotency-Key, so the server creates one run.
func TestSubmitRetriesEOFWithItsKey(t *testing.T) {
	url, keys := eofServer(t, 2)
	c, err := New(url, "tdi_x", Options{Clock: clock.NewSkipping(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := c.Submit(context.Background(), apitype.SubmitRequest{Strategy: "rsi_bollinger"})
	if err != nil || tk.RunID != "run_1" {
		t.Fatalf("submit = %+v, %v", tk, err)
	}
	got := keys()
	if len(got) != 3 || got[0] == "" || got[1] != got[0] || got[2] != got[0] {
		t.Fatalf("Idempotency-Keys sent: %q, want one key three times", got)
	}
}

// 503 overloaded is a refusal before anything was done: every request,
// cancel included, is sent again after Retry-After. Another 503 on a
// request that is not safe to repeat is the error.
func TestOverloadedIsWaitedOut(t *testing.T) {
	var calls atomic.Int32
	code := apitype.CodeOverloaded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"status":503,"code":%q,"detail":"busy"}`, code)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"run_1","status":"cancelled"}`)
	}))
	defer srv.Close()
	clk := clock.NewSkipping(time.Now())
	c, err := New(srv.URL, "tdi_x", Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Cancel(context.Background(), "run_1")
	if err != nil || r.Status != Cancelled {
		t.Fatalf("cancel = %+v, %v", r, err)
	}
	if waits := clk.Sleeps(); len(waits) != 1 || waits[0] != time.Second {
		t.Fatalf("waits %v, want the 1 s Retry-After", waits)
	}

	calls.Store(0)
	code = apitype.CodeNotReady
	var ae *Error
	if _, err := c.Cancel(context.Background(), "run_1"); !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || calls.Load() != 1 {
		t.Fatalf("cancel on 503 not_ready: %v after %d calls; want the error at once", err, calls.Load())
	}
}

// A submission the server does not answer within the client's timeout is
// sent again with its Idempotency-Key: the repeat says whether it was
// accepted. (A read that times out is not repeated.)
func TestSubmitRetriesTimeoutWithItsKey(t *testing.T) {
	var (
		mu   sync.Mutex
		keys []string
	)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n := len(keys)
		mu.Unlock()
		if n == 1 {
			<-release // the first attempt is never answered in time
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"run_id":"run_1"}`)
	}))
	defer srv.Close()
	defer close(release)
	c, err := New(srv.URL, "tdi_x", Options{Timeout: time.Second, Clock: clock.NewSkipping(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := c.Submit(context.Background(), apitype.SubmitRequest{Strategy: "rsi_bollinger"})
	if err != nil || tk.RunID != "run_1" {
		t.Fatalf("submit = %+v, %v", tk, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 2 || keys[0] == "" || keys[1] != keys[0] {
		t.Fatalf("Idempotency-Keys sent: %q, want one key twice", keys)
	}
}
