package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tradai/tradai/internal/api/apitype"
)

const walkforwardsPath = "/api/v1/walkforwards"

func walkforwardPath(id string) string { return walkforwardsPath + "/" + url.PathEscape(id) }

// SubmitWalkForward queues a walk-forward analysis on one of the server's
// workers, with a fresh Idempotency-Key so that a repeat after a
// connection error returns the run the first attempt created.
func (c *Client) SubmitWalkForward(ctx context.Context, req apitype.WalkForwardRequest) (apitype.Ticket, error) {
	var t apitype.Ticket
	h := http.Header{}
	h.Set("Idempotency-Key", NewIdempotencyKey())
	err := c.do(ctx, call{what: "submit walk-forward", prep: "to", method: http.MethodPost, path: walkforwardsPath, body: req, header: h, repeatable: true, keyed: true}, &t)
	return t, err
}

// WalkForward is a walk-forward run and its settings.
func (c *Client) WalkForward(ctx context.Context, id string) (apitype.WalkForward, error) {
	var w apitype.WalkForward
	err := c.do(ctx, call{what: "get walk-forward " + id, prep: "from", method: http.MethodGet, path: walkforwardPath(id), repeatable: true}, &w)
	return w, err
}

// The files of a completed walk-forward (WalkForwardFile).
const (
	WalkForwardResult    = "result"     // the JSON of --export-json
	WalkForwardReport    = "report"     // the HTML of --report
	WalkForwardOOSReport = "oos-report" // the HTML of --oos-report
)

// WalkForwardFile downloads a file of a completed walk-forward:
// WalkForwardResult, WalkForwardReport or WalkForwardOOSReport.
func (c *Client) WalkForwardFile(ctx context.Context, id, file string) ([]byte, error) {
	var b []byte
	err := c.do(ctx, call{what: "download the " + file + " of walk-forward " + id, prep: "from", method: http.MethodGet, path: walkforwardPath(id) + "/" + file, repeatable: true}, &b)
	return b, err
}
