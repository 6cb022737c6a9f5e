package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tradai/tradai/internal/api/apitype"
)

const (
	schedulesPath   = "/api/v1/schedules"
	challengersPath = "/api/v1/challengers"
)

// CreateSchedule schedules a data refresh or re-optimisation of a
// deployment.
func (c *Client) CreateSchedule(ctx context.Context, req apitype.ScheduleRequest) (apitype.Schedule, error) {
	var s apitype.Schedule
	err := c.do(ctx, call{what: "create schedule", prep: "at", method: http.MethodPost, path: schedulesPath, body: req}, &s)
	return s, err
}

// Schedules lists the caller's schedules, oldest first.
func (c *Client) Schedules(ctx context.Context) ([]apitype.Schedule, error) {
	var l apitype.ScheduleList
	err := c.do(ctx, call{what: "list schedules", prep: "from", method: http.MethodGet, path: schedulesPath, repeatable: true}, &l)
	return l.Schedules, err
}

// DeleteSchedule deletes schedule id.
func (c *Client) DeleteSchedule(ctx context.Context, id string) error {
	return c.do(ctx, call{what: "delete schedule " + id, prep: "at", method: http.MethodDelete, path: schedulesPath + "/" + url.PathEscape(id)}, nil)
}

// Challengers lists the caller's challengers, newest first.
func (c *Client) Challengers(ctx context.Context) ([]apitype.Challenger, error) {
	var l apitype.ChallengerList
	err := c.do(ctx, call{what: "list challengers", prep: "from", method: http.MethodGet, path: challengersPath, repeatable: true}, &l)
	return l.Challengers, err
}

// ApproveChallenger promotes pending challenger id to production.
func (c *Client) ApproveChallenger(ctx context.Context, id, reason string) (apitype.Challenger, error) {
	return c.decide(ctx, id, "approve", reason)
}

// RejectChallenger rejects pending challenger id.
func (c *Client) RejectChallenger(ctx context.Context, id, reason string) (apitype.Challenger, error) {
	return c.decide(ctx, id, "reject", reason)
}

func (c *Client) decide(ctx context.Context, id, verb, reason string) (apitype.Challenger, error) {
	var ch apitype.Challenger
	err := c.do(ctx, call{what: verb + " challenger " + id, prep: "at", method: http.MethodPost, path: challengersPath + "/" + url.PathEscape(id) + "/" + verb,
		body: apitype.ChallengerDecision{Reason: reason}}, &ch)
	return ch, err
}
