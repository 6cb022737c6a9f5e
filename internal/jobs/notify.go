package jobs

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

// Webhook request headers.
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256, keyed with the
	// webhook secret, of HeaderTimestamp's value, a dot and the raw body.
	HeaderSignature = "X-TradAI-Signature"
	// HeaderTimestamp is the Unix time (seconds) the attempt was signed.
	HeaderTimestamp = "X-TradAI-Timestamp"
	// HeaderDelivery is the event's delivery id, the same on every attempt:
	// receivers drop a delivery id they have seen.
	HeaderDelivery = "X-TradAI-Delivery"
	// HeaderEvent is the event's type, as in its body.
	HeaderEvent = "X-TradAI-Event"
)

// notifyQueue is the River queue of webhook deliveries, apart from the
// backtests so that a slow receiver never holds a backtest slot.
const notifyQueue = "notify"

// WebhookOptions configures the events sent when runs finish. Zero fields
// take the defaults in parentheses.
type WebhookOptions struct {
	// URL receives a POST of an [Event] for every run that reaches a
	// terminal status (completed, failed, dead_letter, cancelled); empty
	// sends nothing.
	URL string
	// Secret keys the events' HMAC-SHA256 signatures; required with URL.
	Secret []byte
	// PublicURL is the API's base URL as receivers reach it (e.g.
	// https://tradai.example.com); it makes the events' links absolute.
	// Empty: links are paths.
	PublicURL string
	// Attempts bounds the tries of one event (5).
	Attempts int
	// RetryBase is the wait before the second try, doubled for each
	// further one (2 s: with 5 attempts, retries after 2, 4, 8 and 16 s).
	RetryBase time.Duration
	// Timeout bounds one try (10 s).
	Timeout time.Duration
	// Client sends the requests (an http.Client that does not follow
	// redirects).
	Client *http.Client
}

func (o WebhookOptions) withDefaults() WebhookOptions {
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	return o
}

func (o WebhookOptions) validate() error {
	if o.URL == "" {
		return nil
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook URL %q: want an http:// or https:// URL", o.URL)
	}
	if len(o.Secret) == 0 {
		return errors.New("webhook: a secret is required to sign the events")
	}
	return nil
}

// Event is the JSON body of a webhook request: one run reached a terminal
// status.
type Event struct {
	// Type is "run." and the status: run.completed, run.failed,
	// run.dead_letter or run.cancelled.
	Type       string `json:"type"`
	DeliveryID string `json:"delivery_id"`
	RunID      string `json:"run_id"`
	Tenant     string `json:"tenant"`
	Status     string `json:"status"`
	Strategy   string `json:"strategy"`
	// Error is why the run failed ("" when it did not).
	Error string `json:"error"`
	// Metrics is the metrics summary of a completed run (null otherwise).
	Metrics json.RawMessage `json:"metrics"`
	// Links are the run's API resources: self, and for a completed run
	// result, report and trades.
	Links map[string]string `json:"links"`
	// At is when the run reached the status.
	At time.Time `json:"at"`
}

// NotifyArgs is the River job delivering one event.
type NotifyArgs struct {
	DeliveryID string `json:"delivery_id"`
	RunID      string `json:"run_id"`
	Tenant     string `json:"tenant"`
	Type       string `json:"type"`
	// Body is the event exactly as sent (kept as a string so that the
	// database's JSON type cannot reformat it between attempts).
	Body string `json:"body"`
}

// Kind is the job's River kind.
func (NotifyArgs) Kind() string { return "notify" }

// SignWebhook returns the value of the X-TradAI-Signature header for body
// sent at timestamp (Unix seconds, as in X-TradAI-Timestamp): "sha256=" and
// the hex HMAC-SHA256 of "<timestamp>.<body>" keyed with secret.
func SignWebhook(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// enqueueEvent is the run store's FinishFunc: in the transaction that
// finishes run r it records a delivery and enqueues its job, so an event
// is sent for every finished run, and only for runs that did finish, also
// across crashes.
func (s *Service) enqueueEvent(ctx context.Context, tx *db.Tx, r runs.Run) error {
	wh := s.opts.Webhook
	now := s.opts.Clock.Now()
	ev := Event{
		Type: "run." + string(r.Status), DeliveryID: db.NewID("dlv", now), RunID: r.ID, Tenant: r.Tenant,
		Status: string(r.Status), Strategy: r.Spec.Strategy, Error: r.Error, At: r.Finished.UTC(),
	}
	if r.Finished.IsZero() {
		ev.At = now.UTC()
	}
	if r.Status == runs.Completed && len(r.Metrics) > 0 {
		ev.Metrics = r.Metrics
	}
	self := wh.PublicURL + "/api/v1/backtests/" + r.ID
	ev.Links = map[string]string{"self": self}
	if r.Status == runs.Completed {
		ev.Links["result"] = self + "/artifacts/result.json"
		ev.Links["report"] = self + "/artifacts/report.html"
		ev.Links["trades"] = self + "/trades"
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode the webhook event of run %s: %w", r.ID, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (id, run_id, tenant_id, event, status, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		ev.DeliveryID, r.ID, r.Tenant, ev.Type, deliveryPending, now.UnixMilli()); err != nil {
		return fmt.Errorf("record the webhook delivery of run %s: %w", r.ID, err)
	}
	args := NotifyArgs{DeliveryID: ev.DeliveryID, RunID: r.ID, Tenant: r.Tenant, Type: ev.Type, Body: string(body)}
	if _, err := s.txInserter.InsertTx(ctx, tx.SQL(), args, &river.InsertOpts{Queue: notifyQueue, MaxAttempts: wh.Attempts}); err != nil {
		return fmt.Errorf("enqueue the webhook delivery of run %s: %w", r.ID, err)
	}
	return nil
}

// Delivery statuses in webhook_deliveries.
const (
	deliveryPending   = "pending"
	deliveryDelivered = "delivered"
	deliveryFailed    = "failed"
)

type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	s *Service
}

// NextRetry waits RetryBase, then twice as long each time.
func (w *notifyWorker) NextRetry(job *river.Job[NotifyArgs]) time.Time {
	d := w.s.opts.Webhook.RetryBase
	for i := 1; i < job.Attempt && d < time.Hour; i++ {
		d *= 2
	}
	return w.s.opts.Clock.Now().Add(d)
}

// Timeout bounds one try a little beyond the request's own timeout.
func (w *notifyWorker) Timeout(*river.Job[NotifyArgs]) time.Duration {
	return w.s.opts.Webhook.Timeout + 5*time.Second
}

// errReceiverRefused marks a delivery refused in a way another try would
// repeat (HTTP 4xx other than 408 and 429, a redirect).
var errReceiverRefused = errors.New("the receiver refused the event")

// Work sends one event once and records the outcome in its delivery row
// and in the run's notify step. A delivery already made is not repeated.
// The run itself is never changed.
func (w *notifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	s := w.s
	a := job.Args
	log := s.log.With("run_id", a.RunID, "tenant", a.Tenant, "delivery", a.DeliveryID, "event", a.Type, "attempt", job.Attempt)
	if s.opts.Webhook.URL == "" {
		return river.JobCancel(errors.New("webhook delivery: no webhook URL is configured in this process"))
	}
	var status string
	err := s.db.QueryRow(ctx, `SELECT status FROM webhook_deliveries WHERE id = ?`, a.DeliveryID).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return river.JobCancel(fmt.Errorf("webhook delivery %s: no such delivery (run deleted?)", a.DeliveryID))
	case err != nil:
		return fmt.Errorf("webhook delivery %s: %w", a.DeliveryID, err)
	case status != deliveryPending:
		log.Debug("webhook delivery already done", "status", status)
		return nil
	}

	began := s.opts.Clock.Now()
	code, sendErr := s.send(ctx, a)
	last := sendErr == nil || errors.Is(sendErr, errReceiverRefused) || job.Attempt >= job.MaxAttempts
	step := runs.Step{Name: StepNotify, Status: runs.Running, Started: job.CreatedAt, Finished: s.opts.Clock.Now()}
	row := deliveryPending
	switch {
	case sendErr == nil:
		row, step.Status = deliveryDelivered, runs.Completed
		step.Detail = fmt.Sprintf("%s delivered to %s on attempt %d of %d (HTTP %d)", a.Type, s.opts.Webhook.URL, job.Attempt, job.MaxAttempts, code)
		log.Info("webhook delivered", "status", code, "took", s.opts.Clock.Now().Sub(began))
	case last:
		row, step.Status = deliveryFailed, runs.Failed
		step.Error = fmt.Sprintf("webhook delivery failed after %d attempts: %v", job.Attempt, sendErr)
		step.Detail = fmt.Sprintf("%s to %s: gave up", a.Type, s.opts.Webhook.URL)
		log.Error("webhook delivery failed; giving up", "err", sendErr)
	default:
		step.Finished = time.Time{}
		step.Detail = fmt.Sprintf("%s to %s: attempt %d of %d failed (%v); retrying", a.Type, s.opts.Webhook.URL, job.Attempt, job.MaxAttempts, sendErr)
		log.Warn("webhook delivery failed; will retry", "err", sendErr)
	}
	step.Detail = "delivery " + a.DeliveryID + ": " + step.Detail

	// Record the outcome whatever happens to the job's context now.
	bg := context.WithoutCancel(ctx)
	var delivered any
	if sendErr == nil {
		delivered = s.opts.Clock.Now().UnixMilli()
	}
	errText := ""
	if sendErr != nil {
		errText = sendErr.Error()
	}
	if _, err := s.db.Exec(bg, `UPDATE webhook_deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?, delivered_at = ? WHERE id = ?`,
		row, job.Attempt, code, errText, delivered, a.DeliveryID); err != nil {
		log.Error("record webhook delivery", "err", err)
	}
	if err := s.runs.PutStep(bg, tenancy.Principal{Tenant: a.Tenant}, a.RunID, step); err != nil {
		log.Warn("record the notify step", "err", err)
	}
	switch {
	case sendErr == nil:
		return nil
	case last:
		return river.JobCancel(sendErr)
	}
	return sendErr
}

// send makes one signed POST of the event; it returns the HTTP status (0
// without an answer).
func (s *Service) send(ctx context.Context, a NotifyArgs) (int, error) {
	wh := s.opts.Webhook
	ctx, cancel := context.WithTimeout(ctx, wh.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.URL, strings.NewReader(a.Body))
	if err != nil {
		return 0, fmt.Errorf("build the webhook request: %w", err)
	}
	ts := strconv.FormatInt(s.opts.Clock.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "TradAI-Webhook/1")
	req.Header.Set(HeaderEvent, a.Type)
	req.Header.Set(HeaderDelivery, a.DeliveryID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, SignWebhook(wh.Secret, ts, []byte(a.Body)))
	resp, err := wh.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST %s: %w", wh.URL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return c, nil
	case c == http.StatusTooManyRequests || c == http.StatusRequestTimeout || c >= 500:
		return c, fmt.Errorf("POST %s: HTTP %d", wh.URL, c)
	default:
		return c, fmt.Errorf("POST %s: HTTP %d: %w", wh.URL, c, errReceiverRefused)
	}
}
