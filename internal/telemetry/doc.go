// Package telemetry is what a TradAI process tells its operator besides
// its answers: the Prometheus families shared by the tiers (Metrics:
// deployment ticks and their latency, circuit breakers, drift scores,
// venue requests and weight, optimisation trials; NewHeartbeats: the age
// of every deployment's heartbeat) and the process's log handler (Logger:
// the --log-format and --log-level flags, text or JSON; every line of a
// run's work carries run_id and tenant, every line of a deployment's
// deployment_id and tenant, given by the logger its job is handed).
//
// The code that moves a metric never imports this package: it declares a
// small interface (runner.Observer, binance.Observer) that Metrics
// satisfies, and the platform wires one to the other. docs/operations.md
// lists every family, the dashboard and the alert rules over them.
package telemetry
