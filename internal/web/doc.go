// Package web is TradAI's web app, served by `tradai serve` beside the API
// (api.Server.Mount): server-rendered HTML pages, written as templ
// components (*.templ, generated into *_templ.go by `make generate`, both
// committed), with htmx for live parts and TradingView's lightweight-charts
// for charts. Everything it serves is in the binary: the stylesheet, its
// script and the vendored libraries (assets/vendor/vendor.sh copies them
// from npm into assets/static/vendor) under content-hashed URLs cached for a
// year. Pages read without JavaScript; scripts add live updates and charts.
//
// Pages: the runs list (filters by status, strategy, version, tag and
// creation date; keyset pages; the status of a queued or running run
// refreshes itself), a run (metrics, equity and drawdown, a pair's candles
// with the trades' entries, exits and stop lines, the trades sorted and
// filtered, per pair, per exit reason, monthly returns, and the run's own
// HTML report in a sandbox), the comparison of 2–20 runs, the backtest form
// (submitted through the API's own path, api.Server.Submit), the
// strategies with their versions, stages, diffs, promotion and rollback
// (each confirmed), the market data's coverage with its gaps and
// freshness, the optimisation studies (progress, best trials, parameter
// importance, convergence, the overfitting figures of the study's HTML
// report shown in a frame, cancel, resume, export) and the deployments
// (live state, heartbeat, figures, log tail, equity, positions, trades,
// orders, pause, resume, stop, the create form) through the API's own
// operations (api.Studies, api.Deployments), and /docs, the API's OpenAPI
// document rendered as HTML.
//
// Sign-in is with an API token, kept in an HttpOnly, SameSite=Strict
// cookie (Secure over TLS) and checked again on every request, so a
// revoked token ends its sessions. Every form carries a CSRF token derived
// from the session's token, and cross-origin requests are refused
// (net/http's CrossOriginProtection). Pages are tenant-scoped as the API
// is: another tenant's run, strategy, study or deployment is not found.
package web
