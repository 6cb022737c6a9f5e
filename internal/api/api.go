// Package api is TradAI's HTTP API: backtests submitted as jobs and
// tracked as runs, strategies, market data coverage and freshness, and the
// operational endpoints (/health, /ready, /metrics). Operations are
// declared with huma, which derives the OpenAPI 3.1 document (/openapi.json;
// the web app renders it at /docs) from the Go types and validates every
// request against it: unknown fields are rejected, naming the field. Paths
// outside /api/ that no operation serves go to the handler Mount gives (the
// web app).
//
// Every /api/ call is authenticated with a bearer token (tenancy) and rate
// limited per user; failed authentications are limited per client address.
// Text that is not valid UTF-8 or holds control characters is refused at
// the boundary (422 naming the field), and so is a submission the worker
// would fail on (parameters out of range, unknown exchange, absurd
// amounts). A run of another tenant is not found. Errors are
// problem details with stable codes (apitype.Problem).
//
// The request and answer bodies are the wire types of package apitype,
// which the client shares; this package adds the operations, the
// parameters huma reads from paths, queries and headers, and the
// conversions from the run and market stores.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tradai/tradai/internal/accounts"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/lograte"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

// Deps are what the API serves from.
type Deps struct {
	DB      *db.DB
	Runs    *runs.Store
	Jobs    *jobs.Service
	Tenancy *tenancy.Store
	// Registry is the strategy registry (nil: its endpoints answer 501,
	// and registry references are not accepted).
	Registry *registry.Registry
	// Deployments is the deployment store and Venues opens their venues
	// (both nil: the deployment endpoints answer 501).
	Deployments *deploy.Store
	Venues      DeployVenues
	// Drift computes a deployment's drift in its GET (nil: none).
	Drift DriftMonitor
	// Accounts are the tenants' venue accounts and AccountTester tests
	// them at their venue (Accounts nil: the account endpoints answer
	// 501).
	Accounts      *accounts.Store
	AccountTester AccountTester
	// DataDir is the market data store, read with Market's options (with a
	// Remote: the bucket the folder is a cache of).
	DataDir string
	Market  market.Options
	Log     *slog.Logger
	Version string
	// Metrics is the process's Prometheus registry, holding what other
	// parts of the process register; the API adds its own families and
	// serves them all at /metrics (nil: a registry of the API's alone).
	Metrics *prometheus.Registry
	// Lifecycle is the strategy lifecycle's schedules and challengers
	// (nil: their endpoints answer 501).
	Lifecycle Lifecycle
}

// Options tune the API; zero fields take the defaults shown.
type Options struct {
	RateLimit float64 // requests per second per user (50)
	RateBurst int     // requests a user may make at once (2 × RateLimit)
	// AuthFailures and AuthFailureBurst limit failed authentications per
	// client address (2 per second, bursts of 30): beyond them the address
	// gets 429 without its token being looked up.
	AuthFailures     float64
	AuthFailureBurst int
	// TrustForwardedFor takes the client address from the last entry of
	// X-Forwarded-For instead of the connection: only behind a proxy that
	// sets it, otherwise any client could pick its address.
	TrustForwardedFor bool
	MaxBody           int64 // request body limit in bytes (1 MiB)
	// BodyReadTimeout bounds reading a request's body (5 s); the handler
	// that follows is not bounded by it.
	BodyReadTimeout time.Duration
	// MaxInFlight is how many /api/ requests are served at once (64); one
	// more is answered at once with 503 overloaded and Retry-After.
	MaxInFlight int
	// AllowExternalStrategies lets tenants submit Python files and
	// exec: programs. They run as the server's user without a sandbox, so
	// this is for a single trusted team only.
	AllowExternalStrategies bool
	// Operators are the users (ids, or names) who see the operations view,
	// may retry any tenant's run and stop every tenant's deployments (the
	// kill switch's platform stop; tradai serve --operator). None: nobody.
	Operators []string
	// Promote is the minimum a paper deployment must have run before it
	// is promoted to live (zero fields: a week and 10 closed trades).
	Promote deploy.PromoteRules
	Clock   clock.Clock // rate limits, token and probe times, latency (nil: the system clock)
}

func (o Options) withDefaults() Options {
	if o.RateLimit <= 0 {
		o.RateLimit = 50
	}
	if o.RateBurst <= 0 {
		o.RateBurst = max(1, int(2*o.RateLimit))
	}
	if o.AuthFailures <= 0 {
		o.AuthFailures = 2
	}
	if o.AuthFailureBurst <= 0 {
		o.AuthFailureBurst = 30
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 64
	}
	if o.BodyReadTimeout <= 0 {
		o.BodyReadTimeout = 5 * time.Second
	}
	o.Clock = clock.Or(o.Clock)
	return o
}

// Server is the API's handler with its metrics and rate limiters.
type Server struct {
	d       Deps
	o       Options
	dep     *Deployments // nil without Deps.Deployments
	ops     *Operations
	acc     *Accounts // nil without Deps.Accounts
	studies *Studies
	api     huma.API
	handler http.Handler
	reg     *prometheus.Registry
	latency *prometheus.HistogramVec

	pages http.Handler // what serves the paths outside /api/ (Mount)

	requests *limiters // per user
	failures *limiters // failed authentications per client address

	probe struct { // the last write probe of /ready
		mu  sync.Mutex
		at  time.Time
		err error
	}
}

// maxBuckets bounds each rate limiter's memory.
const maxBuckets = 100_000

// New builds the API over d.
func New(d Deps, o Options) (*Server, error) {
	if d.DB == nil || d.Runs == nil || d.Jobs == nil || d.Tenancy == nil {
		return nil, errors.New("api: database, run store, job service and tenancy store are required")
	}
	if d.DataDir == "" {
		return nil, errors.New("api: a market data folder is required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	o = o.withDefaults()
	// A failing database fails every request the same way: its errors are
	// logged once a minute, with how many were held back.
	d.Log = slog.New(lograte.New(d.Log.Handler(), time.Minute, o.Clock))
	s := &Server{d: d, o: o, studies: NewStudies(d.Jobs, d.Log), ops: NewOperations(d.Runs, d.Jobs, d.Deployments, o.Operators, d.Tenancy, o.Clock, d.Log)}
	if d.Deployments != nil {
		dep, err := NewDeployments(DeploymentsConfig{Store: d.Deployments, Venues: d.Venues, Registry: d.Registry, Clock: o.Clock, Log: d.Log,
			Operators: o.Operators, Users: d.Tenancy, Promote: o.Promote, Drift: d.Drift})
		if err != nil {
			return nil, err
		}
		s.dep = dep
	}
	if d.Accounts != nil {
		acc, err := NewAccounts(d.Accounts, d.AccountTester, d.Log)
		if err != nil {
			return nil, err
		}
		s.acc = acc
	}
	s.requests = newLimiters(s.o.RateLimit, s.o.RateBurst, maxBuckets, s.o.Clock)
	s.failures = newLimiters(s.o.AuthFailures, s.o.AuthFailureBurst, maxBuckets, s.o.Clock)

	s.reg = d.Metrics
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tradai_http_request_duration_seconds",
		Help:    "API request latency by route and status code.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"method", "route", "code"})
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.latency, runStates{runs: d.Runs, jobs: d.Jobs})
	for _, c := range d.Jobs.Collectors() {
		s.reg.MustRegister(c)
	}

	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("TradAI", d.Version)
	cfg.Info.Description = "Submit backtests as jobs, follow them, compare runs, and inspect market data. " +
		"Authenticate with `Authorization: Bearer <token>` (create one with `tradai tokens create`)."
	cfg.OpenAPIPath = "/openapi"
	// The web app renders the document at /docs from the binary; huma's
	// page would load its viewer from a CDN.
	cfg.DocsPath = ""
	cfg.RejectUnknownQueryParameters = true
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "An API token from `tradai tokens create` (tdi_…)."},
	}
	// No $schema field and Link header in answers: clients get plain JSON.
	cfg.CreateHooks = nil
	cfg.Transformers = append(cfg.Transformers, toProblem)
	// A Problem's error details are huma's under the wire type's name:
	// one ErrorDetail schema.
	cfg.Components.Schemas.RegisterTypeAlias(reflect.TypeFor[apitype.ErrorDetail](), reflect.TypeFor[huma.ErrorDetail]())
	s.api = humago.New(mux, cfg)
	s.api.UseMiddleware(s.authenticate, s.checkParams, s.readBody)
	s.registerBacktests()
	s.registerRuns()
	s.registerData()
	s.registerOps()
	s.registerStrategies()
	s.registerDeployments()
	s.registerAccounts()
	s.registerStudies()
	s.registerOperations()
	s.registerDownloads()
	s.registerWalkForwards()
	s.registerLifecycle()
	// The schema of every error answer is Problem, not huma's ErrorModel.
	if em, ok := s.api.OpenAPI().Components.Schemas.Map()["ErrorModel"]; ok {
		*em = *s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[apitype.Problem](), false, "Problem")
	}

	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.pages != nil && !strings.HasPrefix(r.URL.Path, "/api/") {
			s.pages.ServeHTTP(w, r)
			return
		}
		writeProblem(w, r, problem(http.StatusNotFound, apitype.CodeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path+" (see /openapi.json)"))
	})
	s.handler = s.shed(s.observe(mux))
	return s, nil
}

// Mount makes h serve every path outside /api/ that no operation serves
// (the web app). Call it before the handler serves.
func (s *Server) Mount(h http.Handler) { s.pages = h }

// Handler is the API's http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// OpenAPI is the API's OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// observe records each request's latency under its route pattern and logs
// server errors.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := s.o.Clock.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern // set by the ServeMux on this request
		if route == "" || route == "/" {
			route = "unmatched"
		} else if _, path, ok := strings.Cut(route, " "); ok {
			route = path
		}
		d := s.o.Clock.Now().Sub(began)
		s.latency.WithLabelValues(r.Method, route, strconv.Itoa(sw.status)).Observe(d.Seconds())
		if sw.status >= 500 {
			s.d.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", sw.status, "elapsed", d)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// authenticate is huma middleware: an operation with a security
// requirement needs a valid bearer token. Each user has a rate limit, and
// so has each client address for failed authentications.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	if len(ctx.Operation().Security) == 0 {
		next(ctx)
		return
	}
	// huma writes the error; toProblem gives it the status's code.
	fail := func(status int, detail string) {
		if status == http.StatusUnauthorized {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="tradai"`)
		}
		_ = huma.WriteErr(s.api, ctx, status, detail)
	}
	tooMany := func(wait time.Duration, detail string) {
		ctx.SetHeader("Retry-After", strconv.Itoa(int(max(1, (wait+time.Second-1)/time.Second))))
		fail(http.StatusTooManyRequests, detail)
	}
	addr := clientAddress(ctx.RemoteAddr(), ctx.Header("X-Forwarded-For"), s.o.TrustForwardedFor)
	if wait := s.failures.wait(addr); wait > 0 {
		tooMany(wait, "too many failed authentications from this address")
		return
	}
	token, err := bearerToken(ctx.Header("Authorization"))
	if err != nil {
		s.failures.take(addr)
		fail(http.StatusUnauthorized, err.Error())
		return
	}
	p, err := s.d.Tenancy.Authenticate(ctx.Context(), token)
	if errors.Is(err, tenancy.ErrUnauthenticated) {
		s.failures.take(addr)
		fail(http.StatusUnauthorized, "the API token is unknown or revoked")
		return
	}
	if err != nil {
		s.d.Log.Error("authenticate", "err", err)
		fail(http.StatusServiceUnavailable, "cannot check the API token now; try again")
		return
	}
	if wait, ok := s.requests.take(p.Tenant + "/" + p.User); !ok {
		tooMany(wait, "rate limit of "+strconv.FormatFloat(s.o.RateLimit, 'f', -1, 64)+" requests per second per user exceeded")
		return
	}
	next(huma.WithValue(ctx, principalKey, p))
}

// secured marks an operation as needing a token.
var secured = []map[string][]string{{"bearer": {}}}

// mustPrincipal is the caller of an authenticated operation.
func mustPrincipal(ctx context.Context) (tenancy.Principal, error) {
	p, ok := principalFrom(ctx)
	if !ok {
		return tenancy.Principal{}, problem(http.StatusUnauthorized, apitype.CodeUnauthenticated, "not authenticated")
	}
	return p, nil
}

// internal logs err and answers 500 without its text: the caller learns
// that the server failed, not its internals.
func (s *Server) internal(what string, err error) error {
	s.d.Log.Error(what, "err", err)
	return problem(http.StatusInternalServerError, apitype.CodeInternal, what+" failed; the server logged why")
}

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
