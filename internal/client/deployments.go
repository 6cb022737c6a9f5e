package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
)

const deploymentsPath = "/api/v1/deployments"

func deploymentPath(id string) string { return deploymentsPath + "/" + url.PathEscape(id) }

// CreateDeployment deploys a strategy version on a venue. It is not
// repeated after a connection error: a second deployment could trade
// beside the first.
func (c *Client) CreateDeployment(ctx context.Context, req apitype.DeploymentRequest) (apitype.Deployment, error) {
	var d apitype.Deployment
	err := c.do(ctx, call{what: "create deployment", prep: "at", method: http.MethodPost, path: deploymentsPath, body: req}, &d)
	return d, err
}

// Deployments lists the tenant's deployments, newest first.
func (c *Client) Deployments(ctx context.Context) ([]apitype.Deployment, error) {
	var l apitype.DeploymentList
	err := c.do(ctx, call{what: "list deployments", prep: "from", method: http.MethodGet, path: deploymentsPath, repeatable: true}, &l)
	return l.Deployments, err
}

// Deployment is one deployment with its summary.
func (c *Client) Deployment(ctx context.Context, id string) (apitype.Deployment, error) {
	var d apitype.Deployment
	err := c.do(ctx, call{what: "get deployment " + id, prep: "from", method: http.MethodGet, path: deploymentPath(id), repeatable: true}, &d)
	return d, err
}

// StopDeployment stops a deployment for good (flatten: close its
// positions first).
func (c *Client) StopDeployment(ctx context.Context, id string, flatten bool) (apitype.Deployment, error) {
	var d apitype.Deployment
	err := c.do(ctx, call{what: "stop deployment " + id, prep: "at", method: http.MethodPost, path: deploymentPath(id) + "/stop",
		body: apitype.StopRequest{Flatten: flatten}, repeatable: true}, &d)
	return d, err
}

// StopAllDeployments is the kill switch: every deployment of the caller's
// tenant (every tenant's with Platform, for an operator) stops.
func (c *Client) StopAllDeployments(ctx context.Context, req apitype.StopAllRequest) (apitype.StopAllResult, error) {
	var r apitype.StopAllResult
	err := c.do(ctx, call{what: "stop all deployments", method: http.MethodPost, path: "/api/v1/deployments/stop-all", body: req, repeatable: true}, &r)
	return r, err
}

// SetAccountLimits records the risk limits of one of the tenant's venue
// accounts.
func (c *Client) SetAccountLimits(ctx context.Context, l apitype.AccountLimits) (apitype.AccountLimits, error) {
	var r apitype.AccountLimits
	err := c.do(ctx, call{what: "set the risk limits of account " + l.Account, prep: "at", method: http.MethodPut, path: "/api/v1/deployments/account-limits",
		body: l, repeatable: true}, &r)
	return r, err
}

// AccountLimits are the risk limits recorded for one of the tenant's venue
// accounts.
func (c *Client) AccountLimits(ctx context.Context, venue, account string) (apitype.AccountLimits, error) {
	var r apitype.AccountLimits
	err := c.do(ctx, call{what: "get the risk limits of account " + account, prep: "from", method: http.MethodGet, path: "/api/v1/deployments/account-limits",
		query: url.Values{"venue": {venue}, "account": {account}}, repeatable: true}, &r)
	return r, err
}

// PauseDeployment keeps a deployment from opening trades.
func (c *Client) PauseDeployment(ctx context.Context, id string) (apitype.Deployment, error) {
	var d apitype.Deployment
	err := c.do(ctx, call{what: "pause deployment " + id, prep: "at", method: http.MethodPost, path: deploymentPath(id) + "/pause"}, &d)
	return d, err
}

// ResumeDeployment lets a paused deployment trade again.
func (c *Client) ResumeDeployment(ctx context.Context, id string) (apitype.Deployment, error) {
	var d apitype.Deployment
	err := c.do(ctx, call{what: "resume deployment " + id, prep: "at", method: http.MethodPost, path: deploymentPath(id) + "/resume"}, &d)
	return d, err
}

// DeploymentLogs reads up to limit log lines after line after (0: from
// the oldest kept); with wait, when there are none yet, the server answers
// as soon as one is written, or after wait (whole seconds, at most a
// minute) with none. Follow a log by passing the page's Next as after.
func (c *Client) DeploymentLogs(ctx context.Context, id string, after int64, limit int, wait time.Duration) (apitype.LogPage, error) {
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if s := int(wait / time.Second); s > 0 {
		q.Set("wait", strconv.Itoa(min(s, 60)))
	}
	var p apitype.LogPage
	err := c.do(ctx, call{what: "read the log of deployment " + id, prep: "from", method: http.MethodGet, path: deploymentPath(id) + "/logs", query: q, repeatable: true}, &p)
	return p, err
}

// DeploymentTrades lists a deployment's trades in the order they opened.
func (c *Client) DeploymentTrades(ctx context.Context, id string) ([]apitype.DeploymentTrade, error) {
	var l apitype.DeploymentTradeList
	err := c.do(ctx, call{what: "list the trades of deployment " + id, prep: "from", method: http.MethodGet, path: deploymentPath(id) + "/trades", repeatable: true}, &l)
	return l.Trades, err
}

// DeploymentOrders lists a deployment's orders, oldest first.
func (c *Client) DeploymentOrders(ctx context.Context, id string) ([]apitype.DeploymentOrder, error) {
	var l apitype.DeploymentOrderList
	err := c.do(ctx, call{what: "list the orders of deployment " + id, prep: "from", method: http.MethodGet, path: deploymentPath(id) + "/orders", repeatable: true}, &l)
	return l.Orders, err
}

// DeploymentPositions lists a deployment's open positions.
func (c *Client) DeploymentPositions(ctx context.Context, id string) ([]apitype.Position, error) {
	var l apitype.PositionList
	err := c.do(ctx, call{what: "list the positions of deployment " + id, prep: "from", method: http.MethodGet, path: deploymentPath(id) + "/positions", repeatable: true}, &l)
	return l.Positions, err
}

// DeploymentEquity is a deployment's equity curve.
func (c *Client) DeploymentEquity(ctx context.Context, id string) ([]apitype.EquityPoint, error) {
	var e apitype.EquityCurve
	err := c.do(ctx, call{what: "read the equity of deployment " + id, prep: "from", method: http.MethodGet, path: deploymentPath(id) + "/equity", repeatable: true}, &e)
	return e.Points, err
}

// DeploymentReport is the HTML report of a deployment's closed trades.
func (c *Client) DeploymentReport(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := c.do(ctx, call{what: "get the report of deployment " + id, prep: "from", method: http.MethodGet, path: deploymentPath(id) + "/report", repeatable: true}, &b)
	return b, err
}

// PromoteDeployment is the paper → live hand-off of paper deployment id:
// without req.Confirm the plan and its token, with the token the live
// deployment (Promotion.Live). Not repeated after a connection error: the
// caller asks again.
func (c *Client) PromoteDeployment(ctx context.Context, id string, req apitype.DeploymentPromoteRequest) (apitype.Promotion, error) {
	var p apitype.Promotion
	err := c.do(ctx, call{what: "promote deployment " + id, prep: "at", method: http.MethodPost, path: deploymentPath(id) + "/promote", body: req}, &p)
	return p, err
}
