package platform

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/drift"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/telemetry"
	"github.com/tradai/tradai/internal/trade"
)

// driftEvery is how often the server recomputes every deployment's drift.
const driftEvery = 15 * time.Minute

// DefaultReferenceDays is the reference period of a deployment whose
// config names no timerange: the days before it was created.
const DefaultReferenceDays = 30

// DriftAlert is the JSON body POSTed to the alert webhook
// (Config.AlertWebhook) when a deployment's drift score reaches 1, once
// until it falls back below.
type DriftAlert struct {
	// Type is "deployment.drift".
	Type       string          `json:"type"`
	Deployment string          `json:"deployment"`
	Tenant     string          `json:"tenant"`
	Score      float64         `json:"score"`
	Verdict    string          `json:"verdict"`
	Features   []drift.Feature `json:"features"`
}

// driftStore is what the drift monitor reads (*deploy.Store).
type driftStore interface {
	staleLister
	Trades(ctx context.Context, tenant, id string) ([]deploy.Trade, error)
}

// referenceFunc backtests deployment d over its reference period: its
// version, config, pairs and timeframe.
type referenceFunc func(ctx context.Context, d deploy.Deployment) (drift.Sample, error)

// refKey names a cached reference: a deployment's, of one version.
type refKey struct {
	deployment string
	version    int
	code       string
}

// driftMonitor computes deployments' drift (internal/drift): their
// trades against the reference backtest, cached per deployment and
// version; on demand (the API's deployment) and every driftEvery for
// every deployment that should trade. Each computation sets the
// deployment's drift gauge; a score reaching 1 logs an error and POSTs a
// DriftAlert to the webhook (if any), once until it falls below 1. An
// alert the API's request raised is handed to run, so that its POST and
// retries outlive the request and end with the monitor.
type driftMonitor struct {
	deploys    driftStore
	reference  referenceFunc
	thresholds drift.Thresholds
	metrics    *telemetry.Metrics
	hook       *alertHook
	clk        clock.Clock
	log        *slog.Logger

	mu      sync.Mutex
	refs    map[refKey]refResult
	alerted map[string]bool
	raised  chan DriftAlert // alerts of on-demand computations, for run to send
}

// raisedQueue bounds the alerts of on-demand computations waiting for
// run; beyond it they are logged only.
const raisedQueue = 64

// refResult is a reference backtest's sample, or its failure and when (a
// failure is tried again after driftEvery).
type refResult struct {
	sample drift.Sample
	err    error
	at     time.Time
}

func newDriftMonitor(deploys driftStore, reference referenceFunc, th drift.Thresholds, metrics *telemetry.Metrics, hook *alertHook, clk clock.Clock, log *slog.Logger) *driftMonitor {
	return &driftMonitor{deploys: deploys, reference: reference, thresholds: th, metrics: metrics, hook: hook, clk: clk, log: log,
		refs: map[refKey]refResult{}, alerted: map[string]bool{}, raised: make(chan DriftAlert, raisedQueue)}
}

// Drift computes deployment d's drift now (computedAt), on demand: an
// alert it raises is sent by run.
func (m *driftMonitor) Drift(ctx context.Context, d deploy.Deployment) (r drift.Report, computedAt time.Time, err error) {
	r, computedAt, a, err := m.compute(ctx, d)
	if a != nil {
		select {
		case m.raised <- *a:
		default:
			m.log.Warn("drift alert not sent to the webhook: too many waiting", "deployment_id", d.ID)
		}
	}
	return r, computedAt, err
}

// compute computes deployment d's drift now (computedAt), and the alert
// to send when it crossed the threshold.
func (m *driftMonitor) compute(ctx context.Context, d deploy.Deployment) (r drift.Report, computedAt time.Time, alert *DriftAlert, err error) {
	ref, err := m.referenceOf(ctx, d)
	if err != nil {
		return drift.Report{}, time.Time{}, nil, fmt.Errorf("drift of deployment %s: reference backtest: %w", d.ID, err)
	}
	ts, err := m.deploys.Trades(ctx, d.Tenant, d.ID)
	if err != nil {
		return drift.Report{}, time.Time{}, nil, fmt.Errorf("drift of deployment %s: %w", d.ID, err)
	}
	recs := make([]trade.Trade, len(ts))
	for i, t := range ts {
		recs[i] = t.Record
		if t.Open {
			recs[i].CloseTime = 0
		}
	}
	now := m.clk.Now()
	candle := d.Spec.Timeframe.Millis()
	end := now.UnixMilli()
	if !d.LastTick.IsZero() {
		end = d.LastTick.UnixMilli() + candle
	}
	r = drift.Compare(ref, drift.Observe(recs, d.Created.UnixMilli(), end, candle, len(d.Spec.Pairs)), m.thresholds)
	return r, now, m.record(d, r), nil
}

// referenceOf is d's reference sample, backtested once per deployment
// and version (a failed backtest again after driftEvery).
func (m *driftMonitor) referenceOf(ctx context.Context, d deploy.Deployment) (drift.Sample, error) {
	k := refKey{d.ID, d.Spec.Version, d.Spec.CodeSHA256}
	now := m.clk.Now()
	m.mu.Lock()
	ref, ok := m.refs[k]
	m.mu.Unlock()
	if ok && (ref.err == nil || now.Sub(ref.at) < driftEvery) {
		return ref.sample, ref.err
	}
	sample, err := m.reference(ctx, d)
	if ctx.Err() != nil {
		return drift.Sample{}, err // cancelled: nothing learnt
	}
	m.mu.Lock()
	for old := range m.refs {
		if old.deployment == d.ID {
			delete(m.refs, old) // a promoted or replaced version's
		}
	}
	m.refs[k] = refResult{sample: sample, err: err, at: now}
	m.mu.Unlock()
	return sample, err
}

// record sets d's gauge and logs the alert when r crossed the threshold:
// the alert to send then, else nil.
func (m *driftMonitor) record(d deploy.Deployment, r drift.Report) *DriftAlert {
	m.metrics.Drift(d.ID, r.Score)
	m.mu.Lock()
	was := m.alerted[d.ID]
	m.alerted[d.ID] = r.Score >= 1
	m.mu.Unlock()
	if r.Score < 1 || was {
		return nil
	}
	m.log.Error("deployment alert: its live trades drifted from its backtest", "deployment_id", d.ID, "tenant", d.Tenant,
		"score", r.Score, "verdict", r.Verdict)
	return &DriftAlert{Type: "deployment.drift", Deployment: d.ID, Tenant: d.Tenant, Score: r.Score, Verdict: r.Verdict, Features: r.Features}
}

// run checks every driftEvery and sends the alerts Drift raised until ctx
// ends, then waits for the alerts being sent.
func (m *driftMonitor) run(ctx context.Context) {
	defer m.hook.wg.Wait()
	tick := m.clk.NewTicker(driftEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-m.raised:
			m.hook.raise(ctx, a.Deployment, a)
		case <-tick.C():
			m.check(ctx)
		}
	}
}

// check computes the drift of every deployment that should trade.
func (m *driftMonitor) check(ctx context.Context) {
	ds, err := m.deploys.Stale(ctx, m.clk.Now().Add(time.Millisecond)) // all that should trade
	if err != nil {
		m.log.Warn("deployment drift not checked", "err", err)
		return
	}
	m.forgetAllBut(ds)
	for _, d := range ds {
		if ctx.Err() != nil {
			return
		}
		_, _, a, err := m.compute(ctx, d)
		if err != nil {
			m.log.Warn("deployment drift not computed", "deployment_id", d.ID, "err", err)
		}
		if a != nil {
			m.hook.raise(ctx, d.ID, *a)
		}
	}
}

// forgetAllBut drops the references, alert states and drift gauges of the
// deployments not in ds (stopped, failed, gone).
func (m *driftMonitor) forgetAllBut(ds []deploy.Deployment) {
	keep := map[string]bool{}
	for _, d := range ds {
		keep[d.ID] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.refs {
		if !keep[k.deployment] {
			delete(m.refs, k)
		}
	}
	for id := range m.alerted {
		if !keep[id] {
			delete(m.alerted, id)
			m.metrics.Forget(id)
		}
	}
}

// backtestReference is the reference of a deployment: a backtest, in this
// process, of its strategy version with its config, pairs and timeframe
// on the market data in dataDir (of exchange when the config names none),
// over the config's timerange, or (none named) the DefaultReferenceDays
// before the deployment was created. With a bucket in mopts (serve
// --data-store), the series are fetched from it first.
func backtestReference(job *deploymentJob, dataDir string, mopts market.Options, exchange string) referenceFunc {
	return func(ctx context.Context, d deploy.Deployment) (drift.Sample, error) {
		cfg, st, closeStrategy, err := job.open(ctx, d)
		if err != nil {
			return drift.Sample{}, err
		}
		defer closeStrategy()
		cfg.Datadir = dataDir
		if cfg.Exchange.Name == "" {
			cfg.Exchange.Name = exchange
		}
		cfg.Timeframe = d.Spec.Timeframe
		cfg.Exchange.PairWhitelist, cfg.Exchange.PairBlacklist = d.Spec.Pairs, nil
		if cfg.Timerange == "" {
			created := d.Created.UTC()
			cfg.Timerange = fmt.Sprintf("%d-%d", created.AddDate(0, 0, -DefaultReferenceDays).Unix(), created.Unix())
		}
		plan, err := backtest.NewPlan(cfg, st.Spec())
		if err != nil {
			return drift.Sample{}, err
		}
		if err := plan.Pull(ctx, mopts, job.log); err != nil {
			return drift.Sample{}, err
		}
		res, err := backtest.Run(ctx, cfg, st, job.log)
		if err != nil {
			return drift.Sample{}, err
		}
		candle := d.Spec.Timeframe.Millis()
		return drift.Observe(res.Trades, res.Start, res.End+candle, candle, len(res.Pairs)), nil
	}
}
