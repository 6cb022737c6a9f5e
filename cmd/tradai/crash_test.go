package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

// child is the tradai CLI running in a child process (see TestMain).
type child struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	url  chan string // the server's URL, once it says it serves
}

func (c *child) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

var servingRE = regexp.MustCompile(`serving on (http://\S+)`)

// startChild runs tradai args in a child process (this test binary, see
// TestMain); it is killed at cleanup.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	return startProcess(t, os.Args[0], append([]string{"-test.run=^$"}, args...)...)
}

// startProcess runs the program bin with args; when bin is this test
// binary, the arguments after -test.run go to tradai's main.
func startProcess(t testing.TB, bin string, args ...string) *child {
	t.Helper()
	c := &child{done: make(chan struct{}), url: make(chan string, 1)}
	if bin == os.Args[0] {
		c.cmd = exec.Command(bin, args[0])
		c.cmd.Env = append(os.Environ(), "TRADAI_MAIN=1", "TRADAI_ARGS="+strings.Join(args[1:], "\x1f"))
	} else {
		c.cmd = exec.Command(bin, args...)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stderr = c
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(c, line)
			if m := servingRE.FindStringSubmatch(line); m != nil {
				c.url <- m[1]
			}
		}
		_, _ = io.Copy(c, stdout)
	}()
	go func() {
		_ = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
		if t.Failed() {
			t.Logf("output of tradai %s:\n%s", strings.Join(args, " "), c.output())
		}
	})
	return c
}

// serving waits until the child, a tradai serve, says where it listens,
// and returns that URL.
func (c *child) serving(t testing.TB) string {
	t.Helper()
	select {
	case url := <-c.url:
		return url
	case <-c.done:
		t.Fatalf("server exited:\n%s", c.output())
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", c.output())
	}
	return ""
}

// homeToken is the API token tradai serve wrote under home on first start.
func homeToken(t testing.TB, home string) string {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(home, "token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(tok))
}

// buildTradai is the real binary, without the race detector the tests
// may run under, for figures that are the product's: built on the first
// call, into the folder TestMain removes, and shared by the later ones.
func buildTradai(t testing.TB) string {
	t.Helper()
	bin, err := builtTradai()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// builtTradai builds the binary once per test process (with testBinDir,
// the tests' only package-level state: the link alone takes seconds),
// with CGO off as make cross and make images build it (reusing their
// compiled packages).
var builtTradai = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(testBinDir, "tradai")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build tradai: %w\n%s", err, out)
	}
	return bin, nil
})

// kill9 kills the child outright, with no chance to clean up.
func (c *child) kill9(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.done
}

// stop asks the child to shut down gracefully and waits.
func (c *child) stop(t *testing.T) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("child did not stop on SIGTERM:\n%s", c.output())
	}
}

// countWhere counts rows of a query with no arguments but one.
func countWhere(t testing.TB, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// waitAllTerminal polls until no run is queued or running.
func waitAllTerminal(t testing.TB, d *db.DB, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		total := countWhere(t, d, `SELECT COUNT(*) FROM runs`)
		open := countWhere(t, d, `SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')`)
		if total == want && open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d runs, %d still queued or running", within, total, open)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// assertCompletedOnce checks that every run completed, and completed once:
// one completion in the audit log and one set of artifacts.
func assertCompletedOnce(t *testing.T, d *db.DB, want int) (rerun int) {
	t.Helper()
	if n := countWhere(t, d, `SELECT COUNT(*) FROM runs WHERE status = 'completed'`); n != want {
		rows, _ := d.Query(context.Background(), `SELECT id, status, attempts, error FROM runs WHERE status <> 'completed'`)
		for rows != nil && rows.Next() {
			var id, st, msg string
			var att int
			_ = rows.Scan(&id, &st, &att, &msg)
			t.Logf("run %s %s after %d attempts: %s", id, st, att, msg)
		}
		t.Fatalf("%d of %d runs completed", n, want)
	}
	if n := countWhere(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'run.complete'`); n != want {
		t.Fatalf("%d completions recorded for %d runs", n, want)
	}
	if n := countWhere(t, d, `SELECT COUNT(*) FROM (SELECT target FROM audit_log WHERE action = 'run.complete' GROUP BY target HAVING COUNT(*) > 1) x`); n != 0 {
		t.Fatalf("%d runs completed more than once", n)
	}
	if n := countWhere(t, d, `SELECT COUNT(*) FROM artifacts`); n != 2*want {
		t.Fatalf("%d artifacts for %d runs, want 2 each", n, want)
	}
	return countWhere(t, d, `SELECT COUNT(*) FROM runs WHERE attempts > 1`)
}

// With PostgreSQL and two worker processes, one worker killed (SIGKILL)
// while 20 backtests are running or queued: every backtest completes, and
// exactly once.
func TestWorkerKilledMidRunPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs worker processes")
	}
	dbtest.Each(t, func(t *testing.T, tg dbtest.Target) {
		if tg.Dialect != db.Postgres {
			t.Skip("tradai worker needs PostgreSQL")
		}
		d, data, submit := workerQueue(t, tg)
		// A Python strategy: each backtest takes a few hundred ms, so the
		// kill finds runs in flight.
		strat, err := filepath.Abs("../../examples/strategies/python/rsi_bollinger.py")
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := json.Marshal(clienttest.Config(t))
		const total = 20
		for range total {
			submit(runs.RunSpec{Strategy: strat, Config: cfg})
		}
		args := []string{"worker", "--database", tg.URL, "--datadir", data, "--workers", "2",
			"--allow-external-strategies", "--orphan-after", "3s"}
		a := startChild(t, args...)
		metricsAddr := freeAddr(t)
		b := startChild(t, append(args, "--metrics-addr", metricsAddr)...)

		// Kill a worker once both are busy: with at most two runs each,
		// three running runs mean the victim holds at least one.
		deadline := time.Now().Add(60 * time.Second)
		for countWhere(t, d, `SELECT COUNT(*) FROM runs WHERE status = 'running'`) < 3 {
			if time.Now().After(deadline) {
				t.Fatal("the workers never ran three backtests at once")
			}
			time.Sleep(5 * time.Millisecond)
		}
		a.kill9(t)
		t.Logf("worker killed with %d runs completed", countWhere(t, d, `SELECT COUNT(*) FROM runs WHERE status = 'completed'`))

		waitAllTerminal(t, d, total, 2*time.Minute)
		// The surviving worker serves its Prometheus metrics: it ran backtests.
		res, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		prom, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if m := regexp.MustCompile(`tradai_job_step_duration_seconds_count\{outcome="ok",step="run"\} ([1-9][0-9]*)`).FindSubmatch(prom); res.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("worker metrics: %d\n%s", res.StatusCode, prom)
		}
		b.stop(t)
		if rerun := assertCompletedOnce(t, d, total); rerun == 0 {
			t.Fatal("no run needed a second attempt: the kill did not interrupt a running backtest")
		}
	})
}

// The all-in-one server killed (SIGKILL) right after accepting work:
// restarted, it runs everything it accepted, each run once.
func TestServerKilledWithQueuedWork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server in a child process")
	}
	home := t.TempDir()
	data, err := filepath.Abs("../../examples/data")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"serve", "--home", home, "--datadir", data, "--addr", "127.0.0.1:0", "--workers", "1", "--orphan-after", "3s", "--rate-limit", "1000"}
	srv := startChild(t, args...)
	url := srv.serving(t)
	token := homeToken(t, home)
	body, _ := json.Marshal(apitype.SubmitRequest{Strategy: "macd_trend", Config: clienttest.Config(t)})
	const total = 20
	accepted := map[string]bool{}
	for range total {
		req, _ := http.NewRequest("POST", url+"/api/v1/backtests", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var tk apitype.Ticket
		err = json.NewDecoder(res.Body).Decode(&tk)
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted || err != nil {
			t.Fatalf("submit: %d %v", res.StatusCode, err)
		}
		accepted[tk.RunID] = true
	}
	srv.kill9(t)

	d, err := db.Open(context.Background(), filepath.Join(home, "tradai.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if n := countWhere(t, d, `SELECT COUNT(*) FROM runs`); n != len(accepted) {
		t.Fatalf("%d runs stored after the kill, %d accepted", n, len(accepted))
	}
	left := countWhere(t, d, `SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')`)
	t.Logf("server killed with %d of %d runs unfinished", left, total)

	again := startChild(t, args...)
	again.serving(t)
	waitAllTerminal(t, d, total, 2*time.Minute)
	again.stop(t)
	assertCompletedOnce(t, d, total)
}

// freeAddr is a loopback address with a port free at the time of the call.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// workerQueue migrates tg's database and returns it, the example data
// folder for `tradai worker --datadir`, and submit, which queues a run for
// a new user in-process, through the queue the workers read.
func workerQueue(tb testing.TB, tg dbtest.Target) (d *db.DB, data string, submit func(runs.RunSpec)) {
	tb.Helper()
	ctx := context.Background()
	d = tg.Open(tb)
	if err := d.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	u, err := tenancy.New(d, nil, nil).CreateUser(ctx, "alice", "acme")
	if err != nil {
		tb.Fatal(err)
	}
	if data, err = filepath.Abs("../../examples/data"); err != nil {
		tb.Fatal(err)
	}
	submitter, err := jobs.New(d, runs.New(d, nil, 3, nil), data, slog.New(slog.DiscardHandler), jobs.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return d, data, func(spec runs.RunSpec) {
		tb.Helper()
		if _, err := submitter.Submit(ctx, tenancy.Principal{Tenant: u.Tenant}, spec, ""); err != nil {
			tb.Fatal(err)
		}
	}
}
