package telemetry

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tradai/tradai/internal/clock"
)

// Metrics are the Prometheus families of a process's deployments, venues
// and optimisation trials. One process makes one (no package-level state)
// and hands its parts to the code that moves them through that code's own
// small interfaces: runner.Observer (Ticked, Breaker), binance.Observer
// (Venue), and the trial count (TrialsDone).
//
// Labels are bounded: venue is "sim" or one of the operator's venue URLs;
// class is a status class; deployment (breaker, drift) is one series per
// deployment this process trades, at most its runner's --max.
type Metrics struct {
	ticks       *prometheus.CounterVec
	tickLatency prometheus.Histogram
	breaker     *prometheus.GaugeVec
	drift       *prometheus.GaugeVec
	requests    *prometheus.CounterVec
	weight      *prometheus.CounterVec
	usedWeight  *prometheus.GaugeVec
	trials      prometheus.Counter
}

// NewMetrics makes the families, empty.
func NewMetrics() *Metrics {
	return &Metrics{
		ticks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tradai_deployment_ticks_total",
			Help: "Deployment ticks (a runner acting on closed candles) by outcome (ok, error).",
		}, []string{"outcome"}),
		tickLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tradai_deployment_tick_latency_seconds",
			Help:    "Time from a candle's close to the end of the deployment tick acting on it.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 3, 5, 10, 30, 60},
		}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradai_breaker_open",
			Help: "1 while a deployment's circuit breaker is open (its runner places no new orders), else 0.",
		}, []string{"deployment"}),
		drift: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradai_deployment_drift_score",
			Help: "How far a deployment's live trades drift from its backtest, over its threshold (0: none; above 1: past the threshold).",
		}, []string{"deployment"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tradai_venue_requests_total",
			Help: "HTTP requests to venues by venue and status class (2xx, 4xx, 429, 418, 5xx, network).",
		}, []string{"venue", "class"}),
		weight: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tradai_venue_request_weight_total",
			Help: "Request weight sent to venues (Binance's rate-limit units), by venue.",
		}, []string{"venue"}),
		usedWeight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradai_venue_used_weight",
			Help: "Request weight the venue last reported used by this IP in the current minute (X-MBX-USED-WEIGHT-1M).",
		}, []string{"venue"}),
		trials: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tradai_hyperopt_trials_total",
			Help: "Optimisation trials finished in this process (rate: trials per second).",
		}),
	}
}

// Collectors are the families, to register with the process's registry.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.ticks, m.tickLatency, m.breaker, m.drift, m.requests, m.weight, m.usedWeight, m.trials}
}

// Ticked records a deployment tick acting on the candles closed at close,
// ended at done with err.
func (m *Metrics) Ticked(closed, done time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.ticks.WithLabelValues(outcome).Inc()
	m.tickLatency.Observe(max(0, done.Sub(closed).Seconds()))
}

// Breaker sets deployment's breaker gauge.
func (m *Metrics) Breaker(deployment string, open bool) {
	v := 0.0
	if open {
		v = 1
	}
	m.breaker.WithLabelValues(deployment).Set(v)
}

// Drift sets deployment's drift score.
func (m *Metrics) Drift(deployment string, score float64) {
	m.drift.WithLabelValues(deployment).Set(score)
}

// Forget drops deployment's series: its runner no longer runs it here.
func (m *Metrics) Forget(deployment string) {
	m.breaker.DeleteLabelValues(deployment)
	m.drift.DeleteLabelValues(deployment)
}

// TrialsDone counts n finished optimisation trials.
func (m *Metrics) TrialsDone(n int) { m.trials.Add(float64(n)) }

// Venue is the request counters of one venue (a binance.Observer).
type Venue struct {
	m    *Metrics
	name string
}

// Venue returns venue name's counters.
func (m *Metrics) Venue(name string) Venue { return Venue{m: m, name: name} }

// Request counts one HTTP request of weight whose answer had HTTP status
// (0: none, a network error).
func (v Venue) Request(weight, status int) {
	v.m.weight.WithLabelValues(v.name).Add(float64(weight))
	v.m.requests.WithLabelValues(v.name, StatusClass(status)).Inc()
}

// UsedWeight records the weight the venue reported used this minute.
func (v Venue) UsedWeight(used int) {
	v.m.usedWeight.WithLabelValues(v.name).Set(float64(used))
}

// StatusClass is the class label of an HTTP status: 429 (rate limited)
// and 418 (banned) by themselves, else 2xx … 5xx, and network for no
// answer.
func StatusClass(status int) string {
	switch {
	case status == 429 || status == 418:
		return strconv.Itoa(status)
	case status >= 100 && status < 600:
		return strconv.Itoa(status/100) + "xx"
	}
	return "network"
}

// Heartbeat is when a deployment's runner last renewed its lease (zero:
// no runner took it yet, since Since).
type Heartbeat struct {
	Deployment string
	Last       time.Time
	Since      time.Time
}

// heartbeats is a collector reading, at each scrape, every deployment
// that should trade and the age of its heartbeat.
type heartbeats struct {
	list func(ctx context.Context) ([]Heartbeat, error)
	clk  clock.Clock
}

var heartbeatDesc = prometheus.NewDesc("tradai_deployment_heartbeat_age_seconds",
	"Seconds since the runner of a deployment that should trade last renewed its lease (since its creation when no runner took it).",
	[]string{"deployment"}, nil)

// NewHeartbeats is the collector of tradai_deployment_heartbeat_age_seconds:
// list gives every deployment that should trade (starting, running,
// paused) with its heartbeat, read at each scrape; one series per such
// deployment.
func NewHeartbeats(list func(ctx context.Context) ([]Heartbeat, error), clk clock.Clock) prometheus.Collector {
	return heartbeats{list: list, clk: clock.Or(clk)}
}

func (h heartbeats) Describe(ch chan<- *prometheus.Desc) { ch <- heartbeatDesc }

func (h heartbeats) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	hbs, err := h.list(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(heartbeatDesc, err)
		return
	}
	now := h.clk.Now()
	for _, hb := range hbs {
		last := hb.Last
		if last.IsZero() {
			last = hb.Since
		}
		ch <- prometheus.MustNewConstMetric(heartbeatDesc, prometheus.GaugeValue, max(0, now.Sub(last).Seconds()), hb.Deployment)
	}
}
