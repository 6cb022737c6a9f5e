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

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

type strategiesOutput struct {
	Body apitype.StrategyList
}

type dataInput struct {
	Exchange string `query:"exchange" maxLength:"100" doc:"Only this exchange's series"`
}

type dataOutput struct {
	Body apitype.DataList
}

type freshnessInput struct {
	Body apitype.FreshnessRequest
}

type freshnessOutput struct {
	Body apitype.FreshnessAnswer
}

type healthOutput struct {
	Body apitype.Health
}

type readyOutput struct {
	Status int
	Body   apitype.Readiness
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
		MaxBodyBytes: s.o.MaxBody, BodyReadTimeout: s.o.BodyReadTimeout,
	}, s.freshness)
}

func (s *Server) store() (*market.Store, error) {
	st, err := market.OpenWith(s.d.DataDir, s.d.Log, s.d.Market)
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
		return nil, problem(http.StatusNotFound, apitype.CodeNotFound, fmt.Sprintf("no market data is stored for exchange %q", in.Exchange))
	case err != nil:
		return nil, s.internal("list market data", err)
	}
	return &dataOutput{Body: dataList(l)}, nil
}

// dataList is the store's listing as the API shows it: empty lists are [].
func dataList(l market.Listing) apitype.DataList {
	out := apitype.DataList{
		Series:     make([]apitype.Series, 0, len(l.Series)),
		Unreadable: make([]apitype.Unreadable, 0, len(l.Unreadable)),
	}
	for _, si := range l.Series {
		v := apitype.Series{
			SeriesKey: seriesKey(si.Key), File: si.File,
			First: si.First, Last: si.Last, Count: si.Count, Missing: si.Missing, Size: si.Size, Updated: si.Updated, Checksum: si.Checksum,
		}
		for _, g := range si.Gaps {
			v.Gaps = append(v.Gaps, apitype.Gap{From: g.From, To: g.To})
		}
		out.Series = append(out.Series, v)
	}
	for _, u := range l.Unreadable {
		out.Unreadable = append(out.Unreadable, apitype.Unreadable{SeriesKey: seriesKey(u.Key), File: u.File, Error: u.Error})
	}
	return out
}

func seriesKey(k market.Key) apitype.SeriesKey {
	return apitype.SeriesKey{Exchange: k.Exchange, Pair: k.Pair, Timeframe: k.Timeframe, CandleType: string(k.Type)}
}

// nameProblem is the 422 for err, wrapping a [*market.InvalidNameError]:
// loc maps the key field it names (exchange, pair, timeframe,
// candle_type) to where the request holds it.
func nameProblem(err error, loc map[string]string) *apitype.Problem {
	var ne *market.InvalidNameError
	field := "body"
	if errors.As(err, &ne) && loc[ne.Field] != "" {
		field = loc[ne.Field]
	}
	return problem(http.StatusUnprocessableEntity, apitype.CodeInvalidRequest, field+": "+err.Error(),
		&apitype.ErrorDetail{Location: field, Message: err.Error()})
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
	rs, err := st.Freshness(ctx, keys, s.o.Clock.Now(), time.Duration(req.MaxAgeSeconds*float64(time.Second)))
	if errors.Is(err, market.ErrInvalidName) {
		return nil, nameProblem(err, nil)
	}
	if err != nil {
		return nil, s.internal("check market data freshness", err)
	}
	out := &freshnessOutput{}
	out.Body.Fresh = true
	for _, r := range rs {
		f := apitype.SeriesFreshness{Exchange: r.Exchange, Pair: r.Pair, Timeframe: string(r.Timeframe), CandleType: string(r.Type),
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
		return &healthOutput{Body: apitype.Health{Status: "ok", Version: s.d.Version}}, nil
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
	out := &readyOutput{Status: http.StatusOK, Body: apitype.Readiness{Status: "ready", Checks: map[string]string{}}}
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
	now := s.o.Clock.Now()
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
// runs are in each status and queue jobs in each state, per job kind.
type runStates struct {
	runs *runs.Store
	jobs *jobs.Service
}

var (
	runsDesc = prometheus.NewDesc("tradai_runs", "Runs by status (all tenants).", []string{"status"}, nil)
	jobsDesc = prometheus.NewDesc("tradai_queue_jobs", "Job queue rows by state and job kind.", []string{"state", "kind"}, nil)
)

func (c runStates) Describe(ch chan<- *prometheus.Desc) {
	ch <- runsDesc
	ch <- jobsDesc
}

func (c runStates) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// Every status and state is reported, zero when absent.
	byStatus := map[string]float64{}
	for _, st := range []string{"queued", "running", "completed", "failed", "cancelled", "dead_letter"} {
		byStatus[st] = 0
	}
	if got, err := c.runs.CountByStatus(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(runsDesc, err)
	} else {
		for st, n := range got {
			byStatus[st] = float64(n)
		}
		for st, n := range byStatus {
			ch <- prometheus.MustNewConstMetric(runsDesc, prometheus.GaugeValue, n, st)
		}
	}
	type stateKind struct{ state, kind string }
	byState := map[stateKind]float64{}
	for _, kind := range c.jobs.Kinds() {
		for _, st := range []string{"available", "scheduled", "running", "retryable", "completed", "cancelled", "discarded"} {
			byState[stateKind{st, kind}] = 0
		}
	}
	got, err := c.jobs.CountJobs(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		return
	}
	for _, q := range got {
		byState[stateKind{q.State, q.Kind}] = float64(q.Jobs)
	}
	for k, n := range byState {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, n, k.state, k.kind)
	}
}
