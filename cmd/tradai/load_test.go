package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
)

// loadSeconds is how long TestLoadSubmissions submits: $TRADAI_LOAD_SECONDS,
// else 10; -short runs 2.
func loadSeconds(t *testing.T) int {
	if v := os.Getenv("TRADAI_LOAD_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("TRADAI_LOAD_SECONDS=%q: want a whole number of seconds", v)
		}
		return n
	}
	if testing.Short() {
		return 2
	}
	return 10
}

// percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// burnCPUs keeps every CPU of the machine busy with other processes, as
// other work does on a shared machine, until stop (or the test's end).
func burnCPUs(t testing.TB) (stop func()) {
	t.Helper()
	var cmds []*exec.Cmd
	var once sync.Once
	stop = func() {
		once.Do(func() {
			for _, cmd := range cmds {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		})
	}
	t.Cleanup(stop)
	for range runtime.NumCPU() {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	return stop
}

// loadServer starts the all-in-one server (the real non-race binary,
// SQLite, 2 workers) and a client of it as the CLI makes one.
func loadServer(t testing.TB) (srv *child, c *client.Client, home string) {
	t.Helper()
	home = t.TempDir()
	data, err := filepath.Abs("../../examples/data")
	if err != nil {
		t.Fatal(err)
	}
	srv = startProcess(t, buildTradai(t), "serve", "--home", home, "--datadir", data, "--addr", "127.0.0.1:0", "--workers", "2", "--rate-limit", "2000", "--log-level", "warn")
	url := srv.serving(t)
	c, err = client.New(url, homeToken(t, home), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, home
}

// loadSubmission is a small backtest: one pair, one day of 5m candles.
func loadSubmission(t testing.TB) apitype.SubmitRequest {
	return apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: clienttest.Config(t), Timerange: "20180110-20180111", Pairs: []string{"ETH/BTC"}}
}

var shedRE = regexp.MustCompile(`(?m)^tradai_http_requests_shed_total (\d+)`)

// shedCount is how many requests the server refused as overloaded ("?"
// when its metrics do not say).
func shedCount(url string) string {
	res, err := http.Get(url + "/metrics")
	if err != nil {
		return "?"
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := shedRE.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return "?"
}

// The load proof: backtest submissions at 500 a second for 10 seconds
// ($TRADAI_LOAD_SECONDS) through the CLI's client to the all-in-one server
// while other processes keep every CPU busy, more than the server can take
// on a loaded machine. What must hold on any machine: no submission is
// lost (each is accepted, or refused with 429 or 503), every accepted
// submission is one run, and every run completes exactly once. How many
// the server accepts, and how fast, is the machine's (see
// BenchmarkSubmissions); the figures go to the test log (-v).
func TestLoadSubmissions(t *testing.T) {
	t.Parallel() // waits on its server's workers: other tests' processes may run beside it
	const rate = 500
	secs := loadSeconds(t)
	srv, c, home := loadServer(t)
	stopBurning := burnCPUs(t)
	req := loadSubmission(t)

	var (
		mu        sync.Mutex
		accepted  = map[string]int{} // run id: submissions answered with it
		latencies []time.Duration
		refused   = map[int]int{} // status: count
		lost      []string
		wg        sync.WaitGroup
	)
	submit := func() {
		defer wg.Done()
		began := time.Now()
		tk, err := c.Submit(context.Background(), req)
		took := time.Since(began)
		var ae *client.Error
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			accepted[tk.RunID]++
			latencies = append(latencies, took)
		case errors.As(err, &ae) && (ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusServiceUnavailable):
			refused[ae.Status]++
		default:
			lost = append(lost, err.Error())
		}
	}
	total := rate * secs
	began := time.Now()
	for i := range total {
		// Paced on the clock, not a ticker: a late tick is caught up.
		time.Sleep(time.Until(began.Add(time.Duration(i) * time.Second / rate)))
		wg.Add(1)
		go submit()
	}
	wg.Wait()
	answered := time.Since(began)
	stopBurning()
	url := c.BaseURL()
	slices.Sort(latencies)
	t.Logf("%d submissions in %s: %d accepted, refused %v (%s overloaded answers, retries included); accepted latency p50 %s, p99 %s, max %s",
		total, answered.Round(time.Millisecond), len(latencies), refused, shedCount(url),
		percentile(latencies, .5), percentile(latencies, .99), percentile(latencies, 1))
	if len(lost) > 0 {
		t.Fatalf("%d of %d submissions lost (neither accepted nor refused with a status), e.g. %s", len(lost), total, lost[0])
	}
	for id, n := range accepted {
		if n != 1 {
			t.Fatalf("run %s was the answer to %d submissions", id, n)
		}
	}

	d, err := db.Open(context.Background(), filepath.Join(home, "tradai.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Exactly the accepted runs exist: a refused submission left nothing.
	waitAllTerminal(t, d, len(accepted), 10*time.Minute)
	rows, err := d.Query(context.Background(), `SELECT id FROM runs`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if accepted[id] != 1 {
			t.Fatalf("run %s exists but no submission was answered with it", id)
		}
	}
	rows.Close()
	t.Logf("all %d accepted backtests finished %s after the first submission", len(accepted), time.Since(began).Round(time.Millisecond))
	srv.stop(t)
	assertCompletedOnce(t, d, len(accepted))
}

// BenchmarkSubmissions measures accepted backtest submissions per second
// through the CLI's client to the all-in-one server (the real non-race
// binary, SQLite, 2 workers running what is submitted), from 32 submitters
// at once; a refusal (429, 503) is waited out by the client and counts as
// time spent. Latency percentiles of one submission are reported too.
func BenchmarkSubmissions(b *testing.B) {
	_, c, _ := loadServer(b)
	req := loadSubmission(b)
	const submitters = 32
	latencies := make([]time.Duration, b.N)
	next := make(chan int)
	errs := make(chan error, submitters)
	var wg sync.WaitGroup
	b.ResetTimer()
	for range submitters {
		wg.Go(func() {
			for i := range next {
				began := time.Now()
				if _, err := c.Submit(context.Background(), req); err != nil {
					select {
					case errs <- fmt.Errorf("submission %d: %w", i, err):
					default:
					}
					continue
				}
				latencies[i] = time.Since(began)
			}
		})
	}
	for i := range b.N {
		next <- i
	}
	close(next)
	wg.Wait()
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submissions/s")
	b.ReportMetric(float64(percentile(latencies, .5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(latencies, .99).Microseconds())/1000, "p99-ms")
}
