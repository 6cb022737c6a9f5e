// Package telemetry is what a TradAI process tells its operator besides
// its answers: the Prometheus families shared by the tiers (Metrics:
// deployment ticks and their latency, circuit breakers, drift scores,
// venue requests and weight, optimisation trials; NewHeartbeats: the age
// of every deployment's heartbeat) and the process's log handler (Logger:
// the --log-format and --log-level flags, text or JSON; every line of a
// run's work carries run_id and tenant, every line of a deployment's
// deployment_id and tenant, given by the logger its job is handed) and
// tracing: NewTracing exports a process's spans to an OTLP/HTTP collector
// in OTLP's JSON encoding (its own exporter: OpenTelemetry's link a gRPC
// stack, which the binary keeps out), HTTP makes the API's server spans,
// Tracer is a provider's tracer or a no-op one.
//
// The code that moves a metric never imports this package: it declares a
// small interface (runner.Observer, binance.Observer) that Metrics
// satisfies, and the platform wires one to the other; spans are made
// through OpenTelemetry's trace API by the code that does the work (the
// job queue, the runner, the Binance client), with the tracer the platform
// hands it. docs/operations.md lists every family, the dashboard and the
// alert rules over them, the log attributes and the spans.
package telemetry
