package telemetry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/telemetry"
)

// Every family moves through the interfaces its producers hold, follows
// Prometheus's naming conventions (promlint), and a deployment's series go
// when it is forgotten.
func TestMetricsMove(t *testing.T) {
	m := telemetry.NewMetrics()
	t0 := time.Date(2025, 1, 1, 0, 5, 0, 0, time.UTC)
	hb := telemetry.NewHeartbeats(func(context.Context) ([]telemetry.Heartbeat, error) {
		return []telemetry.Heartbeat{{Deployment: "dep_a", Last: t0.Add(-45 * time.Second)}, {Deployment: "dep_b", Since: t0.Add(-time.Minute)}}, nil
	}, clock.NewFake(t0))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(append(m.Collectors(), hb)...)

	m.Ticked(t0, t0.Add(1500*time.Millisecond), nil)
	m.Ticked(t0, t0.Add(time.Second), errors.New("venue down"))
	m.Breaker("dep_a", true)
	m.Drift("dep_a", 0.3)
	v := m.Venue("sim")
	v.Request(5, 200)
	v.Request(1, 429)
	v.Request(1, 0)
	v.UsedWeight(42)
	m.TrialsDone(3)

	want := `
# HELP tradai_breaker_open 1 while a deployment's circuit breaker is open (its runner places no new orders), else 0.
# TYPE tradai_breaker_open gauge
tradai_breaker_open{deployment="dep_a"} 1
# HELP tradai_deployment_drift_score How far a deployment's live trades drift from its backtest, over its threshold (0: none; above 1: past the threshold).
# TYPE tradai_deployment_drift_score gauge
tradai_deployment_drift_score{deployment="dep_a"} 0.3
# HELP tradai_deployment_heartbeat_age_seconds Seconds since the runner of a deployment that should trade last renewed its lease (since its creation when no runner took it).
# TYPE tradai_deployment_heartbeat_age_seconds gauge
tradai_deployment_heartbeat_age_seconds{deployment="dep_a"} 45
tradai_deployment_heartbeat_age_seconds{deployment="dep_b"} 60
# HELP tradai_deployment_ticks_total Deployment ticks (a runner acting on closed candles) by outcome (ok, error).
# TYPE tradai_deployment_ticks_total counter
tradai_deployment_ticks_total{outcome="error"} 1
tradai_deployment_ticks_total{outcome="ok"} 1
# HELP tradai_hyperopt_trials_total Optimisation trials finished in this process (rate: trials per second).
# TYPE tradai_hyperopt_trials_total counter
tradai_hyperopt_trials_total 3
# HELP tradai_venue_request_weight_total Request weight sent to venues (Binance's rate-limit units), by venue.
# TYPE tradai_venue_request_weight_total counter
tradai_venue_request_weight_total{venue="sim"} 7
# HELP tradai_venue_requests_total HTTP requests to venues by venue and status class (2xx, 4xx, 429, 418, 5xx, network).
# TYPE tradai_venue_requests_total counter
tradai_venue_requests_total{class="2xx",venue="sim"} 1
tradai_venue_requests_total{class="429",venue="sim"} 1
tradai_venue_requests_total{class="network",venue="sim"} 1
# HELP tradai_venue_used_weight Request weight the venue last reported used by this IP in the current minute (X-MBX-USED-WEIGHT-1M).
# TYPE tradai_venue_used_weight gauge
tradai_venue_used_weight{venue="sim"} 42
`
	names := []string{"tradai_breaker_open", "tradai_deployment_drift_score", "tradai_deployment_heartbeat_age_seconds", "tradai_deployment_ticks_total",
		"tradai_hyperopt_trials_total", "tradai_venue_request_weight_total", "tradai_venue_requests_total", "tradai_venue_used_weight"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.Collectors()[1], "tradai_deployment_tick_latency_seconds"); n != 1 {
		t.Errorf("tick latency: %d series", n)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
	m.Forget("dep_a")
	if n := testutil.CollectAndCount(reg, "tradai_breaker_open", "tradai_deployment_drift_score"); n != 0 {
		t.Errorf("%d series of a forgotten deployment", n)
	}
}

func TestStatusClass(t *testing.T) {
	for status, want := range map[int]string{0: "network", 200: "2xx", 400: "4xx", 418: "418", 429: "429", 503: "5xx", 999: "network"} {
		if got := telemetry.StatusClass(status); got != want {
			t.Errorf("StatusClass(%d) = %q, want %q", status, got, want)
		}
	}
}
