package client

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/sdk"
)

const backtestsPath = "/api/v1/backtests"

// Run statuses, as apitype.Run.Status carries them.
const (
	Queued     = "queued"
	Running    = "running"
	Completed  = "completed"
	Failed     = "failed"
	Cancelled  = "cancelled"
	DeadLetter = "dead_letter"
)

// Terminal reports whether a run in this status is done: it will not
// change again unless it is retried.
func Terminal(status string) bool {
	switch status {
	case Completed, Failed, Cancelled, DeadLetter:
		return true
	}
	return false
}

// Submit queues a backtest and returns its ticket. It sends a fresh
// Idempotency-Key, so the repeats it makes after a connection error or a
// timeout return the run the first attempt created instead of creating
// another.
func (c *Client) Submit(ctx context.Context, req apitype.SubmitRequest) (apitype.Ticket, error) {
	return c.SubmitWithKey(ctx, req, NewIdempotencyKey())
}

// SubmitWithKey is Submit with the caller's Idempotency-Key: submitting
// the same request with the same key again returns the first run, and a
// different request with the same key is a 409 idempotency_key_reused.
func (c *Client) SubmitWithKey(ctx context.Context, req apitype.SubmitRequest, key string) (apitype.Ticket, error) {
	var t apitype.Ticket
	h := http.Header{}
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	err := c.do(ctx, call{
		what: "submit backtest", prep: "to", method: http.MethodPost, path: backtestsPath,
		body: req, header: h, repeatable: key != "", keyed: key != "",
	}, &t)
	return t, err
}

// NewIdempotencyKey is a random key for one submission.
func NewIdempotencyKey() string {
	return "tradai-" + rand.Text()
}

// Get is a run with its steps, and once completed its metrics and
// artifacts.
func (c *Client) Get(ctx context.Context, id string) (apitype.Run, error) {
	var r apitype.Run
	err := c.do(ctx, call{what: "get run " + id, prep: "from", method: http.MethodGet, path: runPath(id), repeatable: true}, &r)
	return r, err
}

// ListOptions select the runs List returns; zero fields select all.
type ListOptions struct {
	Status   string // one of the run statuses
	Strategy string
	Version  int               // only runs of this registry version of Strategy
	Tags     map[string]string // only runs carrying all of these
	Cursor   string            // RunPage.NextCursor of the previous page
	Limit    int               // runs per page (the server's default, 100)
}

// List is one page of the caller's runs, newest first.
func (c *Client) List(ctx context.Context, o ListOptions) (apitype.RunPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": o.Status, "strategy": o.Strategy, "cursor": o.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.Tags)) {
		q.Add("tag", k+"="+o.Tags[k])
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Version > 0 {
		q.Set("version", strconv.Itoa(o.Version))
	}
	var p apitype.RunPage
	err := c.do(ctx, call{what: "list runs", prep: "from", method: http.MethodGet, path: backtestsPath, query: q, repeatable: true}, &p)
	return p, err
}

// Cancel cancels a queued or running run; a running one stops within a
// second. Cancelling a finished run is a 409 conflict.
func (c *Client) Cancel(ctx context.Context, id string) (apitype.Run, error) {
	var r apitype.Run
	err := c.do(ctx, call{what: "cancel run " + id, prep: "at", method: http.MethodPost, path: runPath(id) + "/cancel"}, &r)
	return r, err
}

// Delete removes a finished run with its steps and artifacts; a second
// Delete of the same run is a 404.
func (c *Client) Delete(ctx context.Context, id string) error {
	return c.do(ctx, call{what: "delete run " + id, prep: "at", method: http.MethodDelete, path: runPath(id)}, nil)
}

// Retry queues a failed, dead-lettered or cancelled run again.
func (c *Client) Retry(ctx context.Context, id string) (apitype.Run, error) {
	var r apitype.Run
	err := c.do(ctx, call{what: "retry run " + id, prep: "at", method: http.MethodPost, path: runPath(id) + "/retry"}, &r)
	return r, err
}

// Trades are a completed run's trades, with Freqtrade's field names.
func (c *Client) Trades(ctx context.Context, id string) (json.RawMessage, error) {
	var out apitype.TradeList
	err := c.do(ctx, call{what: "get the trades of run " + id, prep: "from", method: http.MethodGet, path: runPath(id) + "/trades", repeatable: true}, &out)
	return out.Trades, err
}

// Artifact downloads a completed run's artifact by name (result.json,
// report.html).
func (c *Client) Artifact(ctx context.Context, id, name string) ([]byte, error) {
	var b []byte
	err := c.do(ctx, call{
		what: "download " + name + " of run " + id, prep: "from", method: http.MethodGet,
		path: runPath(id) + "/artifacts/" + url.PathEscape(name), repeatable: true,
	}, &b)
	return b, err
}

// Compare sets 2 to 20 runs side by side.
func (c *Client) Compare(ctx context.Context, ids ...string) (apitype.Comparison, error) {
	var cmp apitype.Comparison
	err := c.do(ctx, call{
		what: "compare runs", prep: "at", method: http.MethodGet, path: "/api/v1/runs/compare",
		query: url.Values{"ids": {strings.Join(ids, ",")}}, repeatable: true,
	}, &cmp)
	return cmp, err
}

// Strategies are the server's built-in strategies.
func (c *Client) Strategies(ctx context.Context) ([]sdk.Spec, error) {
	var out apitype.StrategyList
	err := c.do(ctx, call{what: "list strategies", prep: "from", method: http.MethodGet, path: "/api/v1/strategies", repeatable: true}, &out)
	return out.Strategies, err
}

// Data is the server's stored market data, optionally of one exchange.
func (c *Client) Data(ctx context.Context, exchange string) ([]apitype.Series, error) {
	var q url.Values
	if exchange != "" {
		q = url.Values{"exchange": {exchange}}
	}
	var out apitype.DataList
	err := c.do(ctx, call{what: "list market data", prep: "from", method: http.MethodGet, path: "/api/v1/data", query: q, repeatable: true}, &out)
	return out.Series, err
}

// Freshness says how fresh the named series are on the server.
func (c *Client) Freshness(ctx context.Context, req apitype.FreshnessRequest) (apitype.FreshnessAnswer, error) {
	var f apitype.FreshnessAnswer
	err := c.do(ctx, call{what: "check data freshness", prep: "at", method: http.MethodPost, path: "/api/v1/data/freshness", body: req, repeatable: true}, &f)
	return f, err
}

// Wait polls the run until it is terminal and returns it. onPoll, when not
// nil, sees every state polled, the last one included. Polls start
// PollMin apart and slow down to PollMax. When ctx ends, Wait returns
// ctx's error and leaves the run alone (cancel it with Cancel).
func (c *Client) Wait(ctx context.Context, id string, onPoll func(apitype.Run)) (apitype.Run, error) {
	interval := c.o.PollMin
	for {
		r, err := c.Get(ctx, id)
		if err != nil {
			return r, err
		}
		if onPoll != nil {
			onPoll(r)
		}
		if Terminal(r.Status) {
			return r, nil
		}
		if err := c.o.Clock.Sleep(ctx, interval); err != nil {
			return r, fmt.Errorf("wait for run %s: %w", id, context.Cause(ctx))
		}
		interval = min(interval+interval/2, c.o.PollMax)
	}
}

func runPath(id string) string { return backtestsPath + "/" + url.PathEscape(id) }
