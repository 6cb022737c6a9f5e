// Package client is a small typed Go client for TradAI's HTTP API (the one
// internal/api serves and "tradai serve" runs). The CLI's --remote commands
// are built on it; request and answer bodies are the API's own wire types
// (apitype.SubmitRequest, apitype.Ticket, apitype.Run, apitype.RunPage,
// apitype.Comparison), which the server serves, so the two cannot drift
// apart silently. Those types are all it takes of the server: the client
// imports neither the database drivers nor the job queue nor the HTTP
// framework (a test keeps it so).
//
// A [Client] is made with [New] from the server's base URL, an API token
// and [Options] whose zero value is sensible:
//
//	c, err := client.New("http://127.0.0.1:8080", token, client.Options{})
//	t, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: cfg})
//	run, err := c.Wait(ctx, t.RunID, func(r apitype.Run) { fmt.Println(r.Status, r.Progress) })
//
// Every method takes a context first. What the client does on its own:
//
//   - Errors the server answers are [*Error] values carrying the HTTP status
//     and the problem's stable code and detail; their text says what failed
//     in the user's terms ("submit backtest to http://…: 422 invalid_request:
//     body.config: …"). Callers branch with errors.As on Status or Code.
//   - 429 rate_limited and 503 overloaded answers are waited out as their
//     Retry-After says, a bounded number of times, for every request (the
//     server refused before doing anything).
//   - Requests that are safe to repeat (GETs, and Submit, which sends an
//     Idempotency-Key generated per call so a repeated POST returns the first
//     run instead of creating a second one) are retried a couple of times
//     on connection errors (a connection closed without an answer: EOF,
//     reset) and on 502/503/504, with a doubling back-off; Submit after a
//     timeout too. So a submission is accepted once, or fails with the
//     server's status, or with the connection error after the retries:
//     never accepted twice.
//   - Connections are kept for reuse (32 idle per server, a minute each).
//   - Each request has a timeout ([Options.Timeout]); the context bounds
//     the whole call including waits.
//
// [ResolveToken] finds the token the way the CLI documents it: the --token
// flag, else $TRADAI_TOKEN, else the file <home>/token that "tradai serve"
// writes on its first start.
//
// The package clienttest starts a real API server in-process for tests.
package client
