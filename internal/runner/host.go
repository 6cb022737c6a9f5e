package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/deploy"
)

// Leases is what a Host needs of the deployment store (*deploy.Store).
type Leases interface {
	Acquire(ctx context.Context, runner string, max int, ttl time.Duration) ([]deploy.Lease, error)
	// RenewAll renews every lease the host holds in one write, at each
	// heartbeat.
	RenewAll(ctx context.Context, ls []deploy.Lease, ttl time.Duration) ([]deploy.Lease, []error)
	Release(ctx context.Context, l deploy.Lease) error
}

// Job runs one held deployment until ctx ends (the host lost or gave up
// the lease) or the deployment cannot go on. The platform's job opens the
// deployment's strategy and venue, builds a Runner and calls Run.
// deploy.ErrFenced (wrapped) says the lease is lost: the host drops the
// deployment; any other error restarts the job after a backoff.
//
// A job counts as starting (see HostConfig.MaxStarting) until it calls
// Started with its ctx (Runner.Run does once its Start returned) or
// returns.
type Job func(ctx context.Context, l deploy.Lease) error

// startedKey is the context key of a job's Started callback.
type startedKey struct{}

// Started tells the host running the job of ctx that the job has started:
// another job may start. Without a host in ctx it does nothing.
func Started(ctx context.Context) {
	if f, ok := ctx.Value(startedKey{}).(func()); ok {
		f()
	}
}

// HostConfig is one runner process's settings.
type HostConfig struct {
	// Name identifies this runner in the leases (unique per process).
	Name   string
	Leases Leases
	Job    Job
	// Max is how many deployments the host holds at most (default 100).
	Max int
	// MaxStarting is how many jobs start at once at most (default twice
	// GOMAXPROCS): the others wait their turn, so that a host acquiring
	// many deployments does not start them all together, each too slow
	// to start in time (a strategy process's handshake).
	MaxStarting int
	// TTL is a lease's length (default 30 s); Heartbeat how often the
	// host renews its leases and looks for deployments (default 10 s).
	TTL       time.Duration
	Heartbeat time.Duration
	// Backoff is the wait before a failed job's first restart (default
	// 500 ms); it doubles up to a minute, and starts again after a job
	// ran for a minute.
	Backoff time.Duration
	Clock   clock.Clock
	Log     *slog.Logger
}

// Host holds deployments for one runner process: it acquires deployments
// that need a runner, runs a Job for each (restarted with backoff when it
// fails), renews their leases every heartbeat, and stops a job whose lease
// it lost (fenced, or not renewed before it expired: another runner may
// hold it by then).
type Host struct {
	cfg HostConfig
	clk clock.Clock
	log *slog.Logger

	mu       sync.Mutex
	held     map[string]*holding
	wg       sync.WaitGroup
	starting chan struct{} // a token per job starting, MaxStarting at most
}

type holding struct {
	lease  deploy.Lease
	cancel context.CancelFunc
	done   chan struct{} // closed when the job's goroutine ends
}

// NewHost checks cfg and fills its defaults.
func NewHost(cfg HostConfig) (*Host, error) {
	if cfg.Name == "" || cfg.Leases == nil || cfg.Job == nil {
		return nil, errors.New("runner host: a name, the leases and a job are required")
	}
	if cfg.Max <= 0 {
		cfg.Max = 100
	}
	if cfg.MaxStarting <= 0 {
		cfg.MaxStarting = 2 * runtime.GOMAXPROCS(0)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 30 * time.Second
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 10 * time.Second
	}
	if cfg.Heartbeat >= cfg.TTL {
		return nil, fmt.Errorf("runner host: heartbeat %v must be shorter than the lease %v", cfg.Heartbeat, cfg.TTL)
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Host{cfg: cfg, clk: clock.Or(cfg.Clock), log: cfg.Log.With("runner", cfg.Name), held: map[string]*holding{},
		starting: make(chan struct{}, cfg.MaxStarting)}, nil
}

// Held lists the deployments the host holds now.
func (h *Host) Held() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.held))
	for id := range h.held {
		out = append(out, id)
	}
	return out
}

// Run holds deployments until ctx ends, then stops every job, waits for
// them and releases their leases, so other runners take them at once.
func (h *Host) Run(ctx context.Context) error {
	defer h.shutdown(context.WithoutCancel(ctx))
	hold := func(ctx context.Context) error {
		h.renew(ctx)
		h.acquire(ctx)
		return nil
	}
	_ = hold(ctx)
	_ = clock.Every(ctx, h.clk, h.cfg.Heartbeat, hold)
	return ctx.Err()
}

// renew renews every held lease, dropping the deployments whose job ended
// or whose lease is lost.
func (h *Host) renew(ctx context.Context) {
	h.mu.Lock()
	hs := make([]*holding, 0, len(h.held))
	for _, x := range h.held {
		hs = append(hs, x)
	}
	h.mu.Unlock()
	live := hs[:0]
	for _, x := range hs {
		if ctx.Err() != nil {
			return // shutting down: shutdown releases what is held
		}
		select {
		case <-x.done:
			// The job gave up (fenced or the deployment ended).
			h.drop(x)
			if err := h.cfg.Leases.Release(ctx, x.lease); err != nil && !errors.Is(err, deploy.ErrFenced) {
				h.log.Warn("lease not released", "deployment", x.lease.Deployment, "err", err)
			}
		default:
			live = append(live, x)
		}
	}
	if len(live) == 0 || ctx.Err() != nil {
		return
	}
	ls := make([]deploy.Lease, len(live))
	h.mu.Lock()
	for i, x := range live {
		ls[i] = x.lease
	}
	h.mu.Unlock()
	renewed, errs := h.cfg.Leases.RenewAll(ctx, ls, h.cfg.TTL)
	if ctx.Err() != nil {
		return
	}
	for i, x := range live {
		switch err := errs[i]; {
		case err == nil:
			h.mu.Lock()
			x.lease = renewed[i]
			h.mu.Unlock()
		case errors.Is(err, deploy.ErrFenced):
			h.log.Warn("lease lost: deployment dropped", "deployment", x.lease.Deployment)
			x.cancel()
			h.drop(x)
		case !h.clk.Now().Before(ls[i].Expires):
			// Not renewed in time: another runner may hold it now.
			h.log.Error("lease expired unrenewed: deployment dropped", "deployment", ls[i].Deployment, "err", err)
			x.cancel()
			h.drop(x)
		default:
			h.log.Warn("lease not renewed, trying again at the next heartbeat", "deployment", ls[i].Deployment, "err", err)
		}
	}
}

func (h *Host) drop(x *holding) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held[x.lease.Deployment] == x {
		delete(h.held, x.lease.Deployment)
	}
}

// acquire takes deployments up to Max and starts their jobs.
func (h *Host) acquire(ctx context.Context) {
	h.mu.Lock()
	n := h.cfg.Max - len(h.held)
	h.mu.Unlock()
	if n <= 0 || ctx.Err() != nil {
		return
	}
	ls, err := h.cfg.Leases.Acquire(ctx, h.cfg.Name, n, h.cfg.TTL)
	if err != nil {
		h.log.Warn("no deployments acquired", "err", err)
		return
	}
	for _, l := range ls {
		jctx, cancel := context.WithCancel(ctx)
		x := &holding{lease: l, cancel: cancel, done: make(chan struct{})}
		h.mu.Lock()
		h.held[l.Deployment] = x
		h.mu.Unlock()
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			defer close(x.done)
			defer cancel()
			h.supervise(jctx, l)
		}()
	}
}

// supervise runs the job, restarting it with backoff after failures,
// until ctx ends or the lease is lost.
func (h *Host) supervise(ctx context.Context, l deploy.Lease) {
	wait := h.cfg.Backoff
	for {
		began := h.clk.Now()
		err := h.start(ctx, l)
		if ctx.Err() != nil {
			return
		}
		if err == nil || errors.Is(err, deploy.ErrFenced) {
			h.log.Info("deployment job ended", "deployment", l.Deployment, "err", err)
			return
		}
		if h.clk.Now().Sub(began) >= time.Minute {
			wait = h.cfg.Backoff
		}
		h.log.Error("deployment job failed, restarting", "deployment", l.Deployment, "err", err, "wait", wait)
		if h.clk.Sleep(ctx, wait) != nil {
			return
		}
		wait = min(2*wait, time.Minute)
	}
}

// start runs the job once it may start (a MaxStarting token), and gives
// the token back when the job called Started or ended.
func (h *Host) start(ctx context.Context, l deploy.Lease) error {
	select {
	case h.starting <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	var once sync.Once
	started := func() { once.Do(func() { <-h.starting }) }
	defer started()
	return h.cfg.Job(context.WithValue(ctx, startedKey{}, started), l)
}

// shutdown stops every job, waits for them and releases their leases.
func (h *Host) shutdown(ctx context.Context) {
	h.mu.Lock()
	hs := make([]*holding, 0, len(h.held))
	for _, x := range h.held {
		x.cancel()
		hs = append(hs, x)
	}
	h.held = map[string]*holding{}
	h.mu.Unlock()
	h.wg.Wait()
	for _, x := range hs {
		if err := h.cfg.Leases.Release(ctx, x.lease); err != nil && !errors.Is(err, deploy.ErrFenced) {
			h.log.Warn("lease not released", "deployment", x.lease.Deployment, "err", err)
		}
	}
}
