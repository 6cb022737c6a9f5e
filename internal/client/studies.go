package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tradai/tradai/internal/api/apitype"
)

const studiesPath = "/api/v1/studies"

func studyPath(id string) string { return studiesPath + "/" + url.PathEscape(id) }

// SubmitStudy queues a study on the server's workers and returns its
// ticket, with a fresh Idempotency-Key so that a repeat after a
// connection error returns the study the first attempt created.
func (c *Client) SubmitStudy(ctx context.Context, req apitype.StudyRequest) (apitype.StudyTicket, error) {
	var t apitype.StudyTicket
	h := http.Header{}
	h.Set("Idempotency-Key", NewIdempotencyKey())
	err := c.do(ctx, call{what: "submit study", prep: "to", method: http.MethodPost, path: studiesPath, body: req, header: h, repeatable: true, keyed: true}, &t)
	return t, err
}

// Study is a study; with top > 0 also its top best trials and the
// parameter importance.
func (c *Client) Study(ctx context.Context, id string, top int) (apitype.Study, error) {
	var s apitype.Study
	q := url.Values{}
	if top > 0 {
		q.Set("top", strconv.Itoa(top))
	}
	err := c.do(ctx, call{what: "get study " + id, prep: "from", method: http.MethodGet, path: studyPath(id), query: q, repeatable: true}, &s)
	return s, err
}

// Studies is one page of the caller's studies, newest first (status and
// cursor empty: all, the first page).
func (c *Client) Studies(ctx context.Context, status, cursor string) (apitype.StudyPage, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var p apitype.StudyPage
	err := c.do(ctx, call{what: "list studies", prep: "from", method: http.MethodGet, path: studiesPath, query: q, repeatable: true}, &p)
	return p, err
}

// StudyTrials is a page of a study's trials: order "number" or "loss"
// (the completed ones, lowest first), from offset, at most limit (0: the
// server's default).
func (c *Client) StudyTrials(ctx context.Context, id, order string, offset, limit int) (apitype.TrialPage, error) {
	q := url.Values{}
	if order != "" {
		q.Set("order", order)
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p apitype.TrialPage
	err := c.do(ctx, call{what: "list the trials of study " + id, prep: "from", method: http.MethodGet, path: studyPath(id) + "/trials", query: q, repeatable: true}, &p)
	return p, err
}

// CancelStudy cancels a queued or running study (a finished one is a 409).
func (c *Client) CancelStudy(ctx context.Context, id string) (apitype.Study, error) {
	var s apitype.Study
	err := c.do(ctx, call{what: "cancel study " + id, prep: "at", method: http.MethodPost, path: studyPath(id) + "/cancel"}, &s)
	return s, err
}

// ResumeStudy puts a cancelled or failed study back in the queue.
func (c *Client) ResumeStudy(ctx context.Context, id string) (apitype.Study, error) {
	var s apitype.Study
	err := c.do(ctx, call{what: "resume study " + id, prep: "at", method: http.MethodPost, path: studyPath(id) + "/resume"}, &s)
	return s, err
}

// ExportStudy is the study's best trial as Freqtrade's strategy
// parameter file (JSON).
func (c *Client) ExportStudy(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := c.do(ctx, call{what: "export study " + id, prep: "from", method: http.MethodGet, path: studyPath(id) + "/export", repeatable: true}, &b)
	return b, err
}

// StudyReport is the study's HTML report (convergence, top trials,
// parameter importance, overfitting figures) of the trials told so far.
func (c *Client) StudyReport(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := c.do(ctx, call{what: "get the report of study " + id, prep: "from", method: http.MethodGet, path: studyPath(id) + "/report", repeatable: true}, &b)
	return b, err
}

// ExportStudyVersion pushes the study's best trial as a new registry
// version of its strategy (POST …/export {"registry": true}); Created
// false: the version already holding it. Repeated after a connection
// error: the same best trial finds the same version.
func (c *Client) ExportStudyVersion(ctx context.Context, id string) (apitype.StrategyVersion, error) {
	var v apitype.StrategyVersion
	err := c.do(ctx, call{what: "export study " + id + " as a version", prep: "at", method: http.MethodPost, path: studyPath(id) + "/export",
		body: map[string]bool{"registry": true}, repeatable: true}, &v)
	return v, err
}
