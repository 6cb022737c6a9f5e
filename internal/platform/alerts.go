package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/runner"
)

// runnerHeartbeat is the runner tier's heartbeat (runner.HostConfig's
// default).
const runnerHeartbeat = 10 * time.Second

// staleLister is what the missed-heartbeat alert reads (*deploy.Store).
type staleLister interface {
	Stale(ctx context.Context, before time.Time) ([]deploy.Deployment, error)
}

// StaleAlert is the JSON body POSTed to the alert webhook
// (Config.AlertWebhook) once per staleness episode of a deployment.
type StaleAlert struct {
	// Type is "deployment.stale".
	Type       string `json:"type"`
	Deployment string `json:"deployment"`
	Tenant     string `json:"tenant"`
	// Runner is the runner that held the deployment last ("" when none
	// took it).
	Runner string `json:"runner"`
	// LastHeartbeat is the deployment's last heartbeat; null when no
	// runner ever took it.
	LastHeartbeat *time.Time `json:"last_heartbeat"`
	// Age is how long ago that heartbeat was (or, never taken, the
	// deployment was created), in seconds.
	Age float64 `json:"age"`
}

// heartbeatWatch raises the missed-heartbeat alert: each check logs an
// error for each deployment that should trade but whose runner has not
// renewed its lease for three heartbeats (or that no runner took), once
// until it recovers, and POSTs it to the webhook (if any), with retries.
// The API shows the same as the deployment's stale field.
type heartbeatWatch struct {
	*alertHook
	deploys staleLister
	clk     clock.Clock
	log     *slog.Logger

	alerted map[string]bool // the deployments stale at the last check
}

// alertHook POSTs alerts (JSON) to the alert webhook (Config.AlertWebhook),
// each in its own goroutine, with retries; with no webhook it does
// nothing.
type alertHook struct {
	webhook string       // "": log only
	client  *http.Client // the webhook's
	clk     clock.Clock
	log     *slog.Logger
	// attempts bounds the POSTs of one alert; retryWait is the wait
	// before the second, doubled for each further one.
	attempts  int
	retryWait time.Duration
	wg        sync.WaitGroup // alerts being sent
}

func newAlertHook(webhook string, clk clock.Clock, log *slog.Logger) (*alertHook, error) {
	if err := checkAlertWebhook(webhook); err != nil {
		return nil, err
	}
	return &alertHook{webhook: webhook, clk: clk, log: log, attempts: 5, retryWait: 2 * time.Second,
		client: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// raise sends deployment's alert a to the webhook, if there is one; its
// retries end with ctx.
func (h *alertHook) raise(ctx context.Context, deployment string, a any) {
	if h.webhook != "" {
		h.wg.Go(func() { h.send(ctx, deployment, a) })
	}
}

// checkAlertWebhook checks Config.AlertWebhook.
func checkAlertWebhook(webhook string) error {
	if webhook == "" {
		return nil
	}
	u, err := url.Parse(webhook)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("alert webhook %q: want an http:// or https:// URL", webhook)
	}
	return nil
}

func newHeartbeatWatch(deploys staleLister, clk clock.Clock, log *slog.Logger, webhook string) (*heartbeatWatch, error) {
	h, err := newAlertHook(webhook, clk, log)
	if err != nil {
		return nil, err
	}
	return &heartbeatWatch{alertHook: h, deploys: deploys, clk: clk, log: log, alerted: map[string]bool{}}, nil
}

// run checks every heartbeat until ctx ends, then waits for the alerts
// being sent (their retries end with ctx).
func (w *heartbeatWatch) run(ctx context.Context) {
	defer w.wg.Wait()
	_ = clock.Every(ctx, w.clk, runnerHeartbeat, func(ctx context.Context) error {
		w.check(ctx)
		return nil
	})
}

// check alerts the deployments that became stale since the last check.
func (w *heartbeatWatch) check(ctx context.Context) {
	now := w.clk.Now()
	stale, err := w.deploys.Stale(ctx, now.Add(-3*runnerHeartbeat))
	if err != nil {
		w.log.Warn("deployment heartbeats not checked", "err", err)
		return
	}
	seen := map[string]bool{}
	for _, d := range stale {
		seen[d.ID] = true
		if w.alerted[d.ID] {
			continue
		}
		a := StaleAlert{Type: "deployment.stale", Deployment: d.ID, Tenant: d.Tenant, Runner: d.Runner}
		if d.Heartbeat.IsZero() {
			a.Age = now.Sub(d.Created).Seconds()
			w.log.Error("deployment alert: no runner took it (start tradai serve with --runner-max > 0, or tradai runner)",
				"deployment_id", d.ID, "tenant", d.Tenant, "created", d.Created)
		} else {
			hb := d.Heartbeat.UTC()
			a.LastHeartbeat, a.Age = &hb, now.Sub(hb).Seconds()
			w.log.Error("deployment alert: heartbeat missed for 3 intervals, its runner is gone or stuck; another runner takes it over",
				"deployment_id", d.ID, "tenant", d.Tenant, "runner", d.Runner, "heartbeat", d.Heartbeat)
		}
		w.raise(ctx, d.ID, a)
	}
	w.alerted = seen
}

// send POSTs the alert until the receiver takes it (a 2xx) or refuses it
// (another 4xx than 408 and 429), at most attempts times.
func (w *alertHook) send(ctx context.Context, deployment string, a any) {
	body, err := json.Marshal(a)
	if err != nil {
		w.log.Error("deployment alert not sent", "deployment_id", deployment, "err", err)
		return
	}
	wait := w.retryWait
	for attempt := 1; ; attempt++ {
		retry, err := w.post(ctx, body)
		if err == nil {
			return
		}
		if !retry || attempt >= w.attempts {
			w.log.Error("deployment alert not delivered to the webhook: gave up", "deployment_id", deployment, "attempts", attempt, "err", err)
			return
		}
		w.log.Warn("deployment alert not delivered to the webhook, retrying", "deployment_id", deployment, "attempt", attempt, "err", err, "retry_in", wait)
		if w.clk.Sleep(ctx, wait) != nil {
			return
		}
		wait *= 2
	}
}

// post makes one POST; retry says whether another attempt may succeed.
func (w *alertHook) post(ctx context.Context, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.webhook, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build the alert request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "TradAI-Alert/1")
	resp, err := w.client.Do(req)
	if err != nil {
		return true, fmt.Errorf("POST %s: %w", w.webhook, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusTooManyRequests || c == http.StatusRequestTimeout || c >= 500:
		return true, fmt.Errorf("POST %s: HTTP %d", w.webhook, c)
	default:
		return false, fmt.Errorf("POST %s: HTTP %d: the receiver refused it", w.webhook, c)
	}
}

// risk logs a runner's risk alert and POSTs it, as it is, to the webhook
// (if any).
func (h *alertHook) risk(ctx context.Context, a runner.Alert) {
	h.log.Error("deployment alert: "+a.Type, "deployment_id", a.Deployment, "tenant", a.Tenant, "account", a.Account, "limit", a.Limit, "message", a.Message)
	h.raise(ctx, a.Deployment, a)
}
