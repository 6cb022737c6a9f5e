// Package apitype holds the wire types of TradAI's HTTP API: the request
// and answer bodies, the runs, steps and artifacts as the API shows them,
// the market data listings, and the problem details every error answer
// is, with their stable codes.
//
// Both sides share them: internal/api serves them (huma reads their
// struct tags into the OpenAPI document) and internal/client decodes them.
// So that a client does not carry the server, this package imports only
// the standard library and sdk (internal/client/deps_test.go keeps it so).
package apitype
