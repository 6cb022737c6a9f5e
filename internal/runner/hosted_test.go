package runner_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/runner"
	"github.com/tradai/tradai/internal/sim/simexchange"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/sdk"
)

// tickAt is a tick a deployment's runner recorded: the candle close it
// acted on, and when (the wall clock) the record was written.
type tickAt struct {
	deployment string
	close      int64
	wall       time.Time
}

// fleet is deployments of the world's pairs on one simulator, run by a
// runner.Host on a fake clock, each by the platform's recipe: a job opens
// its strategy (a fresh one each start), builds a Runner and Runs it. The
// ticks the runners record are told on ticks.
type fleet struct {
	p      *paper
	w      *world
	clk    *clock.Fake
	ticks  chan tickAt
	failed chan string // a deployment whose job failed (it is restarted)
	deps   map[string]*hostedDep
	host   *runner.Host
	cancel context.CancelFunc
	done   chan struct{}
}

// hostedDep is one deployment of a fleet.
type hostedDep struct {
	n      int // 0 for the first, i+1 for more(i)
	id     string
	x      exchange.Exchange
	open   func(ctx context.Context) (sdk.Strategy, func() error, error)
	params map[string]any // strategy_params beyond the spec's defaults
}

// recorder is the store of a fleet's runners: it tells on the ticks.
type recorder struct {
	runner.Store
	ticks chan tickAt
}

func (s recorder) RecordLater(ctx context.Context, l deploy.Lease, w deploy.Write) error {
	err := s.Store.RecordLater(ctx, l, w)
	if err == nil && !w.Tick.IsZero() {
		s.ticks <- tickAt{deployment: l.Deployment, close: w.Tick.UnixMilli(), wall: time.Now()}
	}
	return err
}

// newFleet makes the world's paper venue (its deployment, released, is
// the first of the fleet, opened by first) and n more deployments, each
// on an account of its own, opened by more(i).
func newFleet(t testing.TB, w *world, first func(ctx context.Context) (sdk.Strategy, func() error, error), n int,
	more func(i int) (func(ctx context.Context) (sdk.Strategy, func() error, error), map[string]any)) *fleet {
	t.Helper()
	ctx := context.Background()
	p := newPaper(t, w, nil)
	if err := p.store.Release(ctx, p.lease); err != nil {
		t.Fatal(err)
	}
	f := &fleet{p: p, w: w, clk: clock.NewFake(time.UnixMilli(start)), ticks: make(chan tickAt, 1<<16), failed: make(chan string, 1<<12),
		deps: map[string]*hostedDep{p.dep.ID: {id: p.dep.ID, x: p.x, open: first}}}
	owner := tenancy.Principal{Tenant: p.lease.Tenant, User: p.dep.CreatedBy}
	for i := range n {
		acct := fmt.Sprintf("acct%d", i)
		if err := p.eng.CreateAccount(acct); err != nil {
			t.Fatal(err)
		}
		if _, err := p.eng.Fund(p.feed.Now(), acct, "USDT", fixed.MustParse("10000")); err != nil {
			t.Fatal(err)
		}
		x, err := simexchange.New(simexchange.Config{Engine: p.eng, Feed: p.feed, Account: acct, Clock: p.clk})
		if err != nil {
			t.Fatal(err)
		}
		dep, err := p.store.Create(ctx, owner, deploy.Spec{Strategy: "sma_cross", Mode: deploy.Paper, Venue: "sim", Account: acct, Pairs: pairs, Timeframe: tf5m})
		if err != nil {
			t.Fatal(err)
		}
		open, params := more(i)
		f.deps[dep.ID] = &hostedDep{n: i + 1, id: dep.ID, x: x, open: open, params: params}
	}
	h, err := runner.NewHost(runner.HostConfig{Name: "host-1", Leases: p.store, Job: f.job, Max: n + 1, TTL: time.Hour, Heartbeat: 10 * time.Second, Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	f.host = h
	return f
}

// job is the fleet's runner.Job, the platform's recipe; it tells on
// failures.
func (f *fleet) job(ctx context.Context, l deploy.Lease) error {
	err := f.trade(ctx, l)
	if err != nil && ctx.Err() == nil {
		f.failed <- l.Deployment
	}
	return err
}

func (f *fleet) trade(ctx context.Context, l deploy.Lease) error {
	d := f.deps[l.Deployment]
	st, closeStrategy, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer closeStrategy()
	spec := st.Spec()
	params, err := spec.Resolve(d.params)
	if err != nil {
		return err
	}
	rules, acct, err := f.w.cfg.Trading(spec)
	if err != nil {
		return err
	}
	r, err := runner.New(runner.Config{Store: recorder{Store: f.p.store, ticks: f.ticks}, Lease: l, Pairs: pairs, Timeframe: tf5m, Exchange: d.x,
		Strategy: st, Params: params, Rules: rules, Account: acct, Orders: f.w.cfg.Orders(), Clock: f.clk, RetryWait: time.Millisecond})
	if err != nil {
		return err
	}
	return r.Run(ctx)
}

// run starts the host and waits until each deployment's runner started
// and waits for the first close.
func (f *fleet) run(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan struct{})
	go func() {
		defer close(f.done)
		_ = f.host.Run(ctx)
	}()
	t.Cleanup(f.stop)
	// The host's heartbeat, and each runner's two waits: for the next
	// close and for a stop asked (Config.StopPoll).
	if err := f.clk.BlockUntil(ctx, 1+2*len(f.deps)); err != nil {
		t.Fatal(err)
	}
}

func (f *fleet) stop() {
	if f.cancel != nil {
		f.cancel()
		<-f.done
		f.cancel = nil
	}
}

// closeAt moves the clocks and the venue to the close at now: the venue's
// stream publishes it, the runners tick.
func (f *fleet) closeAt(t testing.TB, now int64) {
	t.Helper()
	// The venue's candle closes before the runners' clock reaches the
	// close, as on a real venue: a runner ticking on its clock (its REST
	// path) must find the candle there. Moving the clock first let a
	// loaded machine tick before the replay moved, and the runner saw the
	// candle one close late.
	if err := f.p.feed.AdvanceTo(now); err != nil {
		t.Fatal(err)
	}
	f.p.clk.Set(time.UnixMilli(now))
	f.clk.Set(time.UnixMilli(now))
}

// tick waits for the next tick recorded.
func (f *fleet) tick(t testing.TB) tickAt {
	t.Helper()
	select {
	case tk := <-f.ticks:
		return tk
	case <-time.After(time.Minute):
		t.Fatal("no tick recorded within a minute")
	}
	return tickAt{}
}

// pidPython is sma_cross.py run by a wrapper that appends its process id
// to pids at each start.
func pidPython(t testing.TB) (open func(ctx context.Context) (sdk.Strategy, func() error, error), pids string) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 on the PATH")
	}
	sma, err := filepath.Abs("../../examples/strategies/python/sma_cross.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pids = filepath.Join(dir, "pids")
	wrapper := filepath.Join(dir, "sma_cross_pid.py")
	src := fmt.Sprintf("import os, runpy\nwith open(%q, 'a') as f:\n    f.write(f'{os.getpid()}\\n')\nrunpy.run_path(%q, run_name='__main__')\n", pids, sma)
	if err := os.WriteFile(wrapper, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	return func(ctx context.Context) (sdk.Strategy, func() error, error) {
		return strategyref.Open(ctx, wrapper, strategyref.Options{CacheDir: cache})
	}, pids
}

// started lists the process ids the wrapper wrote, oldest first.
func started(t testing.TB, pids string) []int {
	t.Helper()
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, l := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// A strategy process killed (SIGKILL) between two candle closes: the tick
// at the next close fails, the host restarts the deployment's job within
// a second (on the clock: the backoff's first wait), with a new strategy
// process, and the cut tick is done then — every close has its tick, each
// once, and the trades are the backtest's.
func TestStrategyProcessKilledNoTickLost(t *testing.T) {
	open, pids := pidPython(t)
	bt, closeBT, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := newWorldOf(t, bt, "", 1)
	if err := closeBT(); err != nil {
		t.Fatal(err)
	}
	f := newFleet(t, w, open, 0, nil)
	f.run(t)
	end := start + 86_400_000 - dur
	kill := start + 100*dur
	var ticks []int64
	restarted := false
	for now := start + dur; now <= end; now += dur {
		if now == kill {
			if err := syscall.Kill(strategyProcess(t, "sma_cross_pid.py"), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			f.closeAt(t, now)
			// The strategy starts a new process at the next call when it
			// saw the old one end; a call that finds it dead fails the
			// tick, and the host restarts the job.
			select {
			case tk := <-f.ticks:
				f.ticks <- tk
			case <-f.failed:
				// The host waits before the restart (with its
				// heartbeat): a second on the clock ends the wait.
				if err := f.clk.BlockUntil(context.Background(), 2); err != nil {
					t.Fatal(err)
				}
				f.p.clk.Set(time.UnixMilli(now).Add(time.Second))
				f.clk.Advance(time.Second)
				restarted = true
			case <-time.After(time.Minute):
				t.Fatal("the tick after the kill neither failed nor ticked")
			}
		} else {
			f.closeAt(t, now)
		}
		tk := f.tick(t)
		ticks = append(ticks, tk.close)
		if tk.close != now {
			t.Fatalf("ticked at %v, want the close at %v", time.UnixMilli(tk.close).UTC(), time.UnixMilli(now).UTC())
		}
	}
	f.stop()
	if ps := started(t, pids); len(ps) != 3 { // the world's backtest, the first job, the one after the kill
		t.Fatalf("%d strategy processes started, want 3", len(ps))
	}
	t.Logf("after the kill: the job restarted by the host: %v (else the strategy started a new process itself)", restarted)
	if n := int((end - start) / dur); len(ticks) != n || !slices.IsSorted(ticks) {
		t.Fatalf("%d ticks for %d closes", len(ticks), n)
	}
	got := f.p.trades(t)
	exact, named, why := compare(t, w, got)
	t.Logf("%d trades: %d the same, %d differing as named: %v", len(got), exact, named, why)
}

// strategyProcess is the process id (in this process's namespace) of
// the one child process running the program named script.
func strategyProcess(t testing.TB, script string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var found []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err1 := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		st, err2 := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err1 != nil || err2 != nil || !strings.Contains(string(cmd), script) {
			continue
		}
		// stat: pid (comm) state ppid …
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d processes of %s are children of this one, want 1", len(found), script)
	}
	return found[0]
}
