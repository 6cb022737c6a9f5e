package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
)

// loadSeconds is how long TestLoadSubmissions submits: $TRADAI_LOAD_SECONDS,
// else 30 (the proof); -short runs 3.
func loadSeconds(t *testing.T) int {
	if v := os.Getenv("TRADAI_LOAD_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("TRADAI_LOAD_SECONDS=%q: want a whole number of seconds", v)
		}
		return n
	}
	if testing.Short() {
		return 3
	}
	return 30
}

// percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// The load proof: 500 backtest submissions per second on loopback against
// the all-in-one server (a real process, SQLite), for 30 seconds: every
// submission accepted, and every backtest completed. Figures go to the
// test log (-v).
func TestLoadSubmissions(t *testing.T) {
	const rate = 500
	secs := loadSeconds(t)
	home := t.TempDir()
	data, err := filepath.Abs("../../examples/data")
	if err != nil {
		t.Fatal(err)
	}
	srv := startProcess(t, buildTradai(t), "serve", "--home", home, "--datadir", data, "--addr", "127.0.0.1:0", "--workers", "2", "--rate-limit", "2000", "--log-level", "warn")
	url := srv.serving(t)
	token := homeToken(t, home)
	// A small backtest: one pair, one day of 5m candles.
	body, _ := json.Marshal(api.SubmitRequest{Strategy: "rsi_bollinger", Config: clienttest.Config(t), Timerange: "20180110-20180111", Pairs: []string{"ETH/BTC"}})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  []string
		wg        sync.WaitGroup
	)
	submit := func() {
		defer wg.Done()
		began := time.Now()
		req, _ := http.NewRequest("POST", url+"/api/v1/backtests", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		d := time.Since(began)
		msg := ""
		if err != nil {
			msg = err.Error()
		} else {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusAccepted {
				msg = fmt.Sprintf("%d %s", res.StatusCode, b)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if msg != "" {
			failures = append(failures, msg)
			return
		}
		latencies = append(latencies, d)
	}
	total := rate * secs
	began := time.Now()
	for i := range total {
		// Paced on the clock, not a ticker: a late tick is caught up, so
		// the average rate holds.
		time.Sleep(time.Until(began.Add(time.Duration(i) * time.Second / rate)))
		wg.Add(1)
		go submit()
	}
	wg.Wait()
	submitted := time.Since(began)
	if len(failures) > 0 {
		t.Fatalf("%d of %d submissions failed, e.g. %s", len(failures), total, failures[0])
	}
	slices.Sort(latencies)
	t.Logf("%d submissions in %s (%.0f/s): latency p50 %s, p99 %s, max %s", total, submitted.Round(time.Millisecond),
		float64(total)/submitted.Seconds(), percentile(latencies, .5), percentile(latencies, .99), latencies[len(latencies)-1])

	d, err := db.Open(context.Background(), filepath.Join(home, "tradai.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	waitAllTerminal(t, d, total, 10*time.Minute)
	t.Logf("all %d backtests finished %s after the first submission", total, time.Since(began).Round(time.Millisecond))
	srv.stop(t)
	if n := countWhere(t, d, `SELECT COUNT(*) FROM runs WHERE status = 'completed'`); n != total {
		t.Fatalf("%d of %d backtests completed", n, total)
	}
}
