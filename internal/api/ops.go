package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

// StrategyList is the answer of GET /api/v1/strategies.
type StrategyList struct {
	Strategies []sdk.Spec `json:"strategies"`
}

type strategiesOutput struct {
	Body StrategyList
}

type dataInput struct {
	Exchange string `query:"exchange" maxLength:"100" doc:"Only this exchange's series"`
}

// DataList is the answer of GET /api/v1/data.
type DataList struct {
	Series []market.Series `json:"series"`
	// Unreadable lists the stored series files that could not be read; the
	// other series are listed all the same.
	Unreadable []market.Unreadable `json:"unreadable" doc:"Stored series files that could not be read (corrupt, truncated, invalid candles), each with why; the readable series are listed in series"`
}

type dataOutput struct {
	Body DataList
}

// FreshnessRequest names the series to check.
type FreshnessRequest struct {
	Exchange      string   `json:"exchange" minLength:"1" maxLength:"100" example:"binance"`
	Pairs         []string `json:"pairs" minItems:"1" maxItems:"1000" example:"[\"BTC/USDT\"]"`
	Timeframes    []string `json:"timeframes" minItems:"1" maxItems:"20" example:"[\"5m\"]"`
	CandleType    string   `json:"candle_type,omitempty" enum:"spot,futures,mark,index,premiumIndex,funding_rate" default:"spot"`
	MaxAgeSeconds float64  `json:"max_age_seconds,omitempty" minimum:"0" doc:"Age beyond which a series is stale; default two candles"`
}

// SeriesFreshness is one series' freshness.
type SeriesFreshness struct {
	Exchange      string   `json:"exchange"`
	Pair          string   `json:"pair"`
	Timeframe     string   `json:"timeframe"`
	CandleType    string   `json:"candle_type"`
	Status        string   `json:"status" enum:"fresh,stale,missing"`
	Last          int64    `json:"last,omitempty" doc:"Open time (Unix ms) of the last stored candle"`
	LastClose     int64    `json:"last_close,omitempty" doc:"Close time (Unix ms) of the last stored candle"`
	Count         int      `json:"count"`
	AgeSeconds    *float64 `json:"age_seconds,omitempty" doc:"Seconds since the last candle closed; absent when missing"`
	MaxAgeSeconds float64  `json:"max_age_seconds"`
	Error         string   `json:"error,omitempty"`
}

type freshnessInput struct {
	Body FreshnessRequest
}

// FreshnessAnswer is the answer of POST /api/v1/data/freshness.
type FreshnessAnswer struct {
	Series []SeriesFreshness `json:"series"`
	Fresh  bool              `json:"fresh" doc:"Every series is fresh"`
}

type freshnessOutput struct {
	Body FreshnessAnswer
}

// Health is the liveness answer.
type Health struct {
	Status  string `json:"status" example:"ok"`
	Version string `json:"version"`
}

type healthOutput struct {
	Body Health
}

// Readiness is the readiness answer: each check's result, "ok" or why not.
type Readiness struct {
	Status string            `json:"status" enum:"ready,not_ready"`
	Checks map[string]string `json:"checks"`
}

type readyOutput struct {
	Status int
	Body   Readiness
}

func (s *Server) registerData() {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-strategies", Method: http.MethodGet, Path: "/api/v1/strategies",
		Summary: "The built-in strategies with their parameters", Tags: []string{"strategies"}, Security: secured,
	}, func(ctx context.Context, _ *struct{}) (*strategiesOutput, error) {
		out := &strategiesOutput{}
		b := strategy.Builtins()
		for _, n := range strategy.Names() {
			out.Body.Strategies = append(out.Body.Strategies, b[n].Spec())
		}
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-data", Method: http.MethodGet, Path: "/api/v1/data",
		Summary: "Stored market data series with their coverage and gaps", Tags: []string{"data"}, Security: secured,
	}, s.data)
	huma.Register(s.api, huma.Operation{
		OperationID: "data-freshness", Method: http.MethodPost, Path: "/api/v1/data/freshness",
		Summary: "How fresh the named series are", Tags: []string{"data"}, Security: secured,
		MaxBodyBytes: s.o.MaxBody,
	}, s.freshness)
}

func (s *Server) store() (*market.Store, error) {
	st, err := market.Open(s.d.DataDir, s.d.Log)
	if err != nil {
		return nil, s.internal("open the market data store", err)
	}
	return st, nil
}

func (s *Server) data(ctx context.Context, in *dataInput) (*dataOutput, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	l, err := st.List(ctx, in.Exchange)
	switch {
	case errors.Is(err, market.ErrInvalidName):
		return nil, nameProblem(err, map[string]string{"exchange": "query.exchange"})
	case errors.Is(err, market.ErrNotFound):
		return nil, problem(http.StatusNotFound, CodeNotFound, fmt.Sprintf("no market data is stored for exchange %q", in.Exchange))
	case err != nil:
		return nil, s.internal("list market data", err)
	}
	out := &dataOutput{Body: DataList{Series: l.Series, Unreadable: l.Unreadable}}
	if out.Body.Series == nil {
		out.Body.Series = []market.Series{}
	}
	if out.Body.Unreadable == nil {
		out.Body.Unreadable = []market.Unreadable{}
	}
	return out, nil
}

// nameProblem is the 422 for err, wrapping a [*market.InvalidNameError]:
// loc maps the key field it names (exchange, pair, timeframe,
// candle_type) to where the request holds it.
func nameProblem(err error, loc map[string]string) *Problem {
	var ne *market.InvalidNameError
	field := "body"
	if errors.As(err, &ne) && loc[ne.Field] != "" {
		field = loc[ne.Field]
	}
	return problem(http.StatusUnprocessableEntity, CodeInvalidRequest, field+": "+err.Error(),
		&huma.ErrorDetail{Location: field, Message: err.Error()})
}

func (s *Server) freshness(ctx context.Context, in *freshnessInput) (*freshnessOutput, error) {
	req := in.Body
	typ := market.CandleType(req.CandleType)
	if typ == "" {
		typ = market.Spot
	}
	var keys []market.Key
	for i, tf := range req.Timeframes {
		for j, pair := range req.Pairs {
			k := market.Key{Exchange: req.Exchange, Pair: pair, Timeframe: sdk.Timeframe(tf), Type: typ}
			if err := k.Validate(); err != nil {
				return nil, nameProblem(err, map[string]string{
					"exchange": "body.exchange", "pair": fmt.Sprintf("body.pairs[%d]", j),
					"timeframe": fmt.Sprintf("body.timeframes[%d]", i), "candle_type": "body.candle_type",
				})
			}
			keys = append(keys, k)
		}
	}
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	rs, err := st.Freshness(ctx, keys, s.o.Now(), time.Duration(req.MaxAgeSeconds*float64(time.Second)))
	if errors.Is(err, market.ErrInvalidName) {
		return nil, nameProblem(err, nil)
	}
	if err != nil {
		return nil, s.internal("check market data freshness", err)
	}
	out := &freshnessOutput{}
	out.Body.Fresh = true
	for _, r := range rs {
		f := SeriesFreshness{Exchange: r.Exchange, Pair: r.Pair, Timeframe: string(r.Timeframe), CandleType: string(r.Type),
			Status: r.Status, Last: r.Last, LastClose: r.LastClose, Count: r.Count, MaxAgeSeconds: r.MaxAge.Seconds(), Error: r.Error}
		if r.Status != market.Missing {
			age := r.Age.Seconds()
			f.AgeSeconds = &age
		}
		if r.Status != market.Fresh {
			out.Body.Fresh = false
		}
		out.Body.Series = append(out.Body.Series, f)
	}
	return out, nil
}

func (s *Server) registerOps() {
	huma.Register(s.api, huma.Operation{
		OperationID: "health", Method: http.MethodGet, Path: "/health",
		Summary: "Liveness: the process answers", Tags: []string{"operations"},
	}, func(context.Context, *struct{}) (*healthOutput, error) {
		return &healthOutput{Body: Health{Status: "ok", Version: s.d.Version}}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "ready", Method: http.MethodGet, Path: "/ready",
		Summary: "Readiness: database, job queue and market data folder", Tags: []string{"operations"},
		Description: "503 names the failing check.",
		Responses:   map[string]*huma.Response{"503": {Description: "A check failed"}},
	}, s.ready)
}

func (s *Server) ready(ctx context.Context, _ *struct{}) (*readyOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	checks := map[string]func() error{
		"database": func() error {
			var one int
			return s.d.DB.QueryRow(ctx, `SELECT 1`).Scan(&one)
		},
		"database_write": func() error { return s.canWrite(ctx) },
		"queue": func() error {
			var n int
			return s.d.DB.QueryRow(ctx, `SELECT COUNT(*) FROM river_queue`).Scan(&n)
		},
		"data": func() error { return dirCheck(s.d.DataDir) },
	}
	out := &readyOutput{Status: http.StatusOK, Body: Readiness{Status: "ready", Checks: map[string]string{}}}
	for name, check := range checks {
		if err := check(); err != nil {
			out.Status, out.Body.Status = http.StatusServiceUnavailable, "not_ready"
			out.Body.Checks[name] = err.Error()
			continue
		}
		out.Body.Checks[name] = "ok"
	}
	return out, nil
}

// writeProbeEvery is how long the answer of the write probe is reused: a
// load balancer polling /ready costs one small write per interval.
const writeProbeEvery = 5 * time.Second

// canWrite says whether the database can write (a full disk fails writes
// while reads go on): it rewrites the one row of write_probe, at most once
// per writeProbeEvery, and answers the last result in between.
func (s *Server) canWrite(ctx context.Context) error {
	s.probe.mu.Lock()
	defer s.probe.mu.Unlock()
	now := s.o.Now()
	if !s.probe.at.IsZero() && now.Sub(s.probe.at) < writeProbeEvery {
		return s.probe.err
	}
	_, err := s.d.DB.Exec(ctx, `INSERT INTO write_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`, now.UnixMilli())
	if err != nil {
		s.d.Log.Error("the database cannot write", "err", err)
		err = fmt.Errorf("the database cannot write: %w", err)
	}
	s.probe.at, s.probe.err = now, err
	return err
}

// dirCheck says whether dir is a folder.
func dirCheck(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	return nil
}

// runStates is a Prometheus collector reading, at each scrape, how many
// runs and queue jobs are in each state.
type runStates struct {
	runs *runs.Store
	jobs *jobs.Service
}

var (
	runsDesc = prometheus.NewDesc("tradai_runs", "Runs by status (all tenants).", []string{"status"}, nil)
	jobsDesc = prometheus.NewDesc("tradai_queue_jobs", "Job queue rows by state.", []string{"state"}, nil)
)

func (c runStates) Describe(ch chan<- *prometheus.Desc) {
	ch <- runsDesc
	ch <- jobsDesc
}

func (c runStates) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, q := range []struct {
		desc   *prometheus.Desc
		count  func(context.Context) (map[string]int, error)
		states []string // always reported, zero when absent
	}{
		{runsDesc, c.runs.CountByStatus,
			[]string{"queued", "running", "completed", "failed", "cancelled", "dead_letter"}},
		{jobsDesc, c.jobs.CountByState,
			[]string{"available", "scheduled", "running", "retryable", "completed", "cancelled", "discarded"}},
	} {
		counts := map[string]float64{}
		for _, st := range q.states {
			counts[st] = 0
		}
		got, err := q.count(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(q.desc, err)
			continue
		}
		for st, n := range got {
			counts[st] = float64(n)
		}
		for st, n := range counts {
			ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, n, st)
		}
	}
}
