package runner_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/runner"
	"github.com/tradai/tradai/internal/tenancy"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// partition is a runner cut off from the database when cut is set.
type partition struct {
	*deploy.Store
	cut atomic.Bool
}

var errPartition = errors.New("connection refused")

func (p *partition) Acquire(ctx context.Context, r string, n int, ttl time.Duration) ([]deploy.Lease, error) {
	if p.cut.Load() {
		return nil, errPartition
	}
	return p.Store.Acquire(ctx, r, n, ttl)
}

func (p *partition) RenewAll(ctx context.Context, ls []deploy.Lease, ttl time.Duration) ([]deploy.Lease, []error) {
	if p.cut.Load() {
		errs := make([]error, len(ls))
		for i := range errs {
			errs[i] = errPartition
		}
		return ls, errs
	}
	return p.Store.RenewAll(ctx, ls, ttl)
}

// jobs records which runner runs which deployment, with which token.
type jobs struct {
	mu      sync.Mutex
	running map[string]deploy.Lease
	starts  map[string]int
	fail    map[string]int // failures still to return per deployment
}

func (j *jobs) job(ctx context.Context, l deploy.Lease) error {
	j.mu.Lock()
	j.starts[l.Deployment]++
	if j.fail[l.Deployment] > 0 {
		j.fail[l.Deployment]--
		j.mu.Unlock()
		return errors.New("strategy crashed")
	}
	j.running[l.Deployment+"/"+l.Runner] = l
	j.mu.Unlock()
	runner.Started(ctx)
	<-ctx.Done()
	j.mu.Lock()
	delete(j.running, l.Deployment+"/"+l.Runner)
	j.mu.Unlock()
	return ctx.Err()
}

func (j *jobs) count(runner string) (n int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, l := range j.running {
		if l.Runner == runner {
			n++
		}
	}
	return n
}

// A runner cut off from the database loses its deployments when their
// leases expire, and stops their jobs; another runner takes them over with
// new tokens. A failing job is restarted after the backoff; a runner
// shutting down releases its leases.
func TestHostFailoverRestartAndRelease(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.UnixMilli(1_700_000_000_000))
		store, err := deploy.New(deploy.Config{DB: d, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		u, err := tenancy.New(d, clk, nil).CreateUser(ctx, "alice", "acme")
		if err != nil {
			t.Fatal(err)
		}
		owner := tenancy.Principal{Tenant: u.Tenant, User: u.ID}
		var ids []string
		for range 4 {
			dep, err := store.Create(ctx, owner, deploy.Spec{Strategy: "sma_cross", Mode: deploy.Paper, Venue: "sim", Account: "a", Pairs: []string{"BTC/USDT"}, Timeframe: "5m"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, dep.ID)
		}
		j := &jobs{running: map[string]deploy.Lease{}, starts: map[string]int{}, fail: map[string]int{ids[0]: 1}}
		p1 := &partition{Store: store}
		h1, err := runner.NewHost(runner.HostConfig{Name: "r1", Leases: p1, Job: j.job, Clock: clk, Backoff: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx1, stop1 := context.WithCancel(ctx)
		done1 := make(chan error, 1)
		go func() { done1 <- h1.Run(ctx1) }()
		// The crashing job waits for its restart: ticker and the backoff.
		waitFor(t, "three jobs on r1", func() bool { return j.count("r1") == 3 })
		if err := clk.BlockUntil(ctx, 2); err != nil {
			t.Fatal(err)
		}
		clk.Advance(500 * time.Millisecond)
		waitFor(t, "the failed job restarted", func() bool { return j.count("r1") == 4 })

		h2, err := runner.NewHost(runner.HostConfig{Name: "r2", Leases: store, Job: j.job, Clock: clk, Log: slog.New(slog.NewTextHandler(t.Output(), nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx2, stop2 := context.WithCancel(ctx)
		done2 := make(chan error, 1)
		go func() { done2 <- h2.Run(ctx2) }()
		if err := clk.BlockUntil(ctx, 2); err != nil { // both heartbeat tickers
			t.Fatal(err)
		}
		p1.cut.Store(true)
		clk.Advance(31 * time.Second) // r1's leases expire unrenewed; r2 looks
		waitFor(t, "r1 to drop its deployments", func() bool { return j.count("r1") == 0 && len(h1.Held()) == 0 })
		waitFor(t, "r2 to run the four", func() bool { return j.count("r2") == 4 })
		j.mu.Lock()
		for k, l := range j.running {
			if l.Token != 2 {
				t.Errorf("%s runs with token %d, want 2", k, l.Token)
			}
		}
		j.mu.Unlock()

		stop2()
		if err := <-done2; !errors.Is(err, context.Canceled) {
			t.Fatalf("r2: %v", err)
		}
		if j.count("r2") != 0 {
			t.Fatal("r2's jobs outlived it")
		}
		for _, id := range ids {
			if dep, _ := store.Get(ctx, owner, id); dep.Runner != "" {
				t.Fatalf("%s still held by %s after r2 shut down", id, dep.Runner)
			}
		}
		stop1()
		<-done1
	})
}

// leases hands out n deployments at the first Acquire.
type leases struct {
	n    int
	once sync.Once
}

func (s *leases) Acquire(_ context.Context, r string, _ int, _ time.Duration) (ls []deploy.Lease, _ error) {
	s.once.Do(func() {
		for i := range s.n {
			ls = append(ls, deploy.Lease{Deployment: fmt.Sprintf("dep-%d", i), Runner: r, Token: 1, Expires: time.Unix(3600, 0)})
		}
	})
	return ls, nil
}

func (*leases) RenewAll(_ context.Context, ls []deploy.Lease, _ time.Duration) ([]deploy.Lease, []error) {
	return ls, make([]error, len(ls))
}

func (*leases) Release(context.Context, deploy.Lease) error { return nil }

// A host acquiring many deployments starts MaxStarting jobs at a time:
// a job counts as starting until it calls Started (or ends), and every
// job starts in the end.
func TestHostBoundsStartingJobs(t *testing.T) {
	const n, maxStarting = 12, 3
	var (
		mu      sync.Mutex
		inStart int
		peak    int
		entered = make(chan chan struct{})
		started = make(chan string, n)
	)
	job := func(ctx context.Context, l deploy.Lease) error {
		mu.Lock()
		inStart++
		peak = max(peak, inStart)
		mu.Unlock()
		proceed := make(chan struct{})
		entered <- proceed
		<-proceed
		mu.Lock()
		inStart--
		mu.Unlock()
		runner.Started(ctx)
		started <- l.Deployment
		<-ctx.Done()
		return ctx.Err()
	}
	h, err := runner.NewHost(runner.HostConfig{Name: "r1", Leases: &leases{n: n}, Job: job, MaxStarting: maxStarting, Clock: clock.NewFake(time.Unix(0, 0))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	// Hold maxStarting jobs in their start, then let them start one by
	// one as the next ones come.
	var held []chan struct{}
	for range maxStarting {
		held = append(held, <-entered)
	}
	for range n - maxStarting {
		// Yield to the host's goroutines: none may enter its start now.
		for range 1000 {
			runtime.Gosched()
		}
		select {
		case <-entered:
			t.Fatalf("a job entered its start while %d were starting", maxStarting)
		default:
		}
		close(held[0])
		held = append(held[1:], <-entered)
	}
	for _, p := range held {
		close(p)
	}
	seen := map[string]bool{}
	for range n {
		seen[<-started] = true
	}
	cancel()
	<-done
	if len(seen) != n || peak > maxStarting {
		t.Fatalf("%d of %d jobs started, %d starting at once at most (want %d)", len(seen), n, peak, maxStarting)
	}
}

// A crash-looping deployment is restarted with a doubling backoff: after
// 0.5 s, then 1, 2, 4 … s, a minute apart at most; a job that ran a
// minute before failing is restarted after 0.5 s again.
func TestHostBacksOffACrashLoop(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	var mu sync.Mutex
	var starts []time.Duration // when each start began, since 0
	job := func(ctx context.Context, _ deploy.Lease) error {
		mu.Lock()
		starts = append(starts, clk.Now().Sub(time.Unix(0, 0)))
		n := len(starts)
		mu.Unlock()
		if n == 11 {
			// The eleventh run lasts a minute before it fails.
			if err := clk.Sleep(ctx, time.Minute); err != nil {
				return err
			}
		}
		return errors.New("strategy crashed")
	}
	h, err := runner.NewHost(runner.HostConfig{Name: "r1", Leases: &leases{n: 1}, Job: job, Clock: clk, Heartbeat: time.Hour, TTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	// Step the clock by 100 ms, each step once the host waits again (its
	// heartbeat and the job's backoff or run).
	for range 4000 {
		if err := clk.BlockUntil(ctx, 2); err != nil {
			t.Fatal(err)
		}
		clk.Advance(100 * time.Millisecond)
	}
	if err := clk.BlockUntil(ctx, 2); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	s := time.Second
	want := []time.Duration{0, s / 2, 3 * s / 2, 7 * s / 2, 15 * s / 2, 31 * s / 2, 63 * s / 2, 127 * s / 2, 247 * s / 2, 367 * s / 2, 487 * s / 2,
		487*s/2 + time.Minute + s/2, 487*s/2 + time.Minute + 3*s/2}
	mu.Lock()
	defer mu.Unlock()
	if len(starts) < len(want) || !slices.Equal(starts[:len(want)], want) {
		t.Fatalf("starts at %v, want %v …", starts, want)
	}
}
