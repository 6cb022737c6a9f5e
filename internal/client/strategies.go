package client

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/tradai/tradai/internal/api/apitype"
)

const strategiesPath = "/api/v1/strategies"

func strategyPath(name string) string { return strategiesPath + "/" + url.PathEscape(name) }

// PushOptions describe a pushed version.
type PushOptions struct {
	Message string
	Tags    map[string]string
	Runtime string // "" = told by the strategy's file
}

// PushStrategy uploads archive (a tar, tar.gz or zip of the strategy's
// files) as the next version of name; identical content answers the
// existing version (Created false), so a repeat after a timeout is safe.
func (c *Client) PushStrategy(ctx context.Context, name string, archive []byte, o PushOptions) (apitype.StrategyVersion, error) {
	q := url.Values{}
	if o.Message != "" {
		q.Set("message", o.Message)
	}
	if o.Runtime != "" {
		q.Set("runtime", o.Runtime)
	}
	for _, k := range slices.Sorted(maps.Keys(o.Tags)) {
		q.Add("tag", k+"="+o.Tags[k])
	}
	var v apitype.StrategyVersion
	err := c.do(ctx, call{what: "push strategy " + name, prep: "to", method: http.MethodPost, path: strategyPath(name) + "/versions",
		query: q, raw: archive, repeatable: true, keyed: true}, &v)
	return v, err
}

// StrategyVersions lists the versions of name, oldest first.
func (c *Client) StrategyVersions(ctx context.Context, name string) ([]apitype.StrategyVersion, error) {
	var l apitype.StrategyVersionList
	err := c.do(ctx, call{what: "list the versions of " + name, prep: "from", method: http.MethodGet, path: strategyPath(name) + "/versions", repeatable: true}, &l)
	return l.Versions, err
}

// StrategyVersion is one version: version is a number, production,
// staging or latest.
func (c *Client) StrategyVersion(ctx context.Context, name, version string) (apitype.StrategyVersion, error) {
	var v apitype.StrategyVersion
	err := c.do(ctx, call{what: "get strategy " + name + "@" + version, prep: "from", method: http.MethodGet,
		path: strategyPath(name) + "/versions/" + url.PathEscape(version), repeatable: true}, &v)
	return v, err
}

// DeleteStrategyVersion deletes a version no run used (else a 409).
func (c *Client) DeleteStrategyVersion(ctx context.Context, name, version string) error {
	return c.do(ctx, call{what: "delete strategy " + name + "@" + version, prep: "at", method: http.MethodDelete,
		path: strategyPath(name) + "/versions/" + url.PathEscape(version)}, nil)
}

// DiffStrategy compares two versions of name (from and to: a number, a
// stage, or another strategy's NAME@VERSION).
func (c *Client) DiffStrategy(ctx context.Context, name, from, to string) (apitype.StrategyDiff, error) {
	var d apitype.StrategyDiff
	err := c.do(ctx, call{what: "diff strategy " + name, prep: "from", method: http.MethodGet, path: strategyPath(name) + "/diff",
		query: url.Values{"from": {from}, "to": {to}}, repeatable: true}, &d)
	return d, err
}

// PromoteStrategy moves a version to a stage, saying why.
func (c *Client) PromoteStrategy(ctx context.Context, name, version string, req apitype.PromoteRequest) (apitype.StrategyVersion, error) {
	var v apitype.StrategyVersion
	err := c.do(ctx, call{what: "promote strategy " + name + "@" + version, prep: "at", method: http.MethodPost,
		path: strategyPath(name) + "/versions/" + url.PathEscape(version) + "/promote", body: req}, &v)
	return v, err
}

// RollbackStrategy puts the previous production version of name back.
func (c *Client) RollbackStrategy(ctx context.Context, name string, req apitype.RollbackRequest) (apitype.StrategyVersion, error) {
	var v apitype.StrategyVersion
	err := c.do(ctx, call{what: "roll back strategy " + name, prep: "at", method: http.MethodPost, path: strategyPath(name) + "/rollback", body: req}, &v)
	return v, err
}
