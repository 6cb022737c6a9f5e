package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/a-h/templ"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
)

// Authenticator checks an API token (tenancy.Store).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (tenancy.Principal, error)
}

// RunStore is what the pages read of the run store (runs.Store).
type RunStore interface {
	Get(ctx context.Context, p tenancy.Principal, id string) (runs.Run, error)
	List(ctx context.Context, p tenancy.Principal, f runs.Filter, cursor string, limit int) (runs.Page, error)
	Steps(ctx context.Context, p tenancy.Principal, runID string) ([]runs.Step, error)
	ArtifactContent(ctx context.Context, p tenancy.Principal, runID, name string) (runs.Artifact, error)
}

// Submitter queues a backtest (api.Server: the API's own submission path,
// with its checks).
type Submitter interface {
	Submit(ctx context.Context, p tenancy.Principal, req apitype.SubmitRequest, idempotencyKey string) (runs.Run, error)
}

// Limiter is the API's rate limits (api.Server), which the pages share:
// requests per user, and failed sign-ins per client address.
type Limiter interface {
	TakeRequest(p tenancy.Principal) (wait time.Duration, ok bool)
	AuthWait(r *http.Request) time.Duration
	AuthFailed(r *http.Request)
}

// Registry is the strategy registry (registry.Registry).
type Registry interface {
	Names(ctx context.Context, p tenancy.Principal) ([]string, error)
	Versions(ctx context.Context, p tenancy.Principal, name string) ([]registry.Version, error)
	Get(ctx context.Context, p tenancy.Principal, ref string) (registry.Version, error)
	Diff(ctx context.Context, p tenancy.Principal, from, to string) (registry.Diff, error)
	History(ctx context.Context, p tenancy.Principal, name string) ([]registry.StageChange, error)
	Promote(ctx context.Context, p tenancy.Principal, ref string, stage registry.Stage, reason string) (registry.Version, error)
	Rollback(ctx context.Context, p tenancy.Principal, name, reason string) (registry.Version, error)
}

// Deployments are the deployment operations (api.Deployments), the very
// ones the API's handlers call: the pages hold none of their logic.
// Errors are *apitype.Problem; another tenant's deployment is a 404.
type Deployments interface {
	Create(ctx context.Context, p tenancy.Principal, req apitype.DeploymentRequest) (apitype.Deployment, error)
	List(ctx context.Context, p tenancy.Principal) (apitype.DeploymentList, error)
	Get(ctx context.Context, p tenancy.Principal, id string) (apitype.Deployment, error)
	Stop(ctx context.Context, p tenancy.Principal, id string, flatten bool) (apitype.Deployment, error)
	Pause(ctx context.Context, p tenancy.Principal, id string) (apitype.Deployment, error)
	Resume(ctx context.Context, p tenancy.Principal, id string) (apitype.Deployment, error)
	Logs(ctx context.Context, p tenancy.Principal, id string, after int64, limit int, wait time.Duration) (apitype.LogPage, error)
	Trades(ctx context.Context, p tenancy.Principal, id string) (apitype.DeploymentTradeList, error)
	Orders(ctx context.Context, p tenancy.Principal, id string) (apitype.DeploymentOrderList, error)
	Positions(ctx context.Context, p tenancy.Principal, id string) (apitype.PositionList, error)
	Equity(ctx context.Context, p tenancy.Principal, id string) (apitype.EquityCurve, error)
	StopAll(ctx context.Context, p tenancy.Principal, req apitype.StopAllRequest) (apitype.StopAllResult, error)
	Report(ctx context.Context, p tenancy.Principal, id string) ([]byte, error)
}

// Studies are the study operations (api.Studies). Errors are
// *apitype.Problem; another tenant's study is a 404.
type Studies interface {
	List(ctx context.Context, p tenancy.Principal, status, cursor string, limit int) (apitype.StudyPage, error)
	Get(ctx context.Context, p tenancy.Principal, id string, top int) (apitype.Study, error)
	Trials(ctx context.Context, p tenancy.Principal, id, order string, offset, limit int) (apitype.TrialPage, error)
	Cancel(ctx context.Context, p tenancy.Principal, id string) (apitype.Study, error)
	Resume(ctx context.Context, p tenancy.Principal, id string) (apitype.Study, error)
	Export(ctx context.Context, p tenancy.Principal, id string) ([]byte, error)
	// Report is the study's HTML report, as tradai hyperopt --report
	// writes one: convergence, best trials, importance and the
	// overfitting figures with their verdict.
	Report(ctx context.Context, p tenancy.Principal, id string) ([]byte, error)
}

// Accounts lists the tenant's stored venue accounts (api.Accounts): the
// deployment form offers their names.
type Accounts interface {
	List(ctx context.Context, p tenancy.Principal) (apitype.AccountList, error)
}

// Deps are what the web app serves from.
type Deps struct {
	Auth   Authenticator
	Runs   RunStore
	Submit Submitter
	Limits Limiter
	// Registry is the strategy registry (nil: the strategies pages show
	// the built-in strategies only).
	Registry Registry
	// Deployments are the deployment operations (nil: no deployment
	// pages).
	Deployments Deployments
	// Studies are the study operations (nil: no study pages).
	Studies Studies
	// Accounts are the venue accounts the deployment form offers (nil:
	// none offered).
	Accounts Accounts
	// WalkForwards are the walk-forward runs (nil: no walk-forward pages;
	// needs Studies).
	WalkForwards WalkForwards
	// Downloads queue market data downloads (nil: no download form).
	Downloads Downloads
	// Operations are the operators' view (nil: no operations page).
	Operations Operations
	// DataDir is the market data store, read with Market's options (with a
	// Remote: the bucket the folder is a cache of).
	DataDir string
	Market  market.Options
	// OpenAPI is the API's OpenAPI document as JSON, rendered at /docs.
	OpenAPI []byte
	Log     *slog.Logger
	Version string
}

// Options tune the web app; zero fields take the defaults shown.
type Options struct {
	// PageSize is how many runs a page of the runs list shows (50).
	PageSize int
	// TrustForwardedProto takes X-Forwarded-Proto: https as a TLS request
	// (the session cookie is then Secure): only behind a proxy that sets
	// it.
	TrustForwardedProto bool
	Clock               clock.Clock // the limiter's and the pages' time (nil: the system clock)
}

// Server is the web app's handler.
type Server struct {
	d       Deps
	o       Options
	assets  *assets
	handler http.Handler
	docs    docsPage
	nav     []navItem
	// closed ends the event streams (Close).
	closed    chan struct{}
	closeOnce sync.Once
}

// New builds the web app over d.
func New(d Deps, o Options) (*Server, error) {
	if d.Auth == nil || d.Runs == nil || d.Submit == nil || d.Limits == nil {
		return nil, errors.New("web: an authenticator, a run store, a submitter and rate limits are required")
	}
	if d.DataDir == "" {
		return nil, errors.New("web: a market data folder is required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if o.PageSize <= 0 {
		o.PageSize = 50
	}
	o.Clock = clock.Or(o.Clock)
	a, err := loadAssets()
	if err != nil {
		return nil, err
	}
	docs, err := parseDocs(d.OpenAPI)
	if err != nil {
		return nil, err
	}
	s := &Server{d: d, o: o, assets: a, docs: docs, nav: navItems(d.Deployments != nil, d.Studies != nil), closed: make(chan struct{})}
	s.handler = s.routes()
	return s, nil
}

// Handler is the web app's http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close ends the event streams open (their browsers reconnect elsewhere
// or later), so a server's shutdown need not wait for them; call it when
// the server shuts down (http.Server.RegisterOnShutdown).
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.closed) }) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /assets/", s.assets)
	mux.HandleFunc("GET /docs", s.docsHandler)
	mux.HandleFunc("GET /signin", s.signInPage)
	mux.HandleFunc("POST /signin", s.signInPost)
	mux.HandleFunc("POST /signout", s.signOut)

	mux.Handle("GET /{$}", s.auth(func(w http.ResponseWriter, r *http.Request, _ *session) {
		http.Redirect(w, r, "/runs", http.StatusSeeOther)
	}))
	mux.Handle("GET /runs", s.auth(s.runsPage))
	mux.Handle("GET /runs/{id}", s.auth(s.runPage))
	mux.Handle("GET /runs/{id}/status", s.auth(s.runStatus))
	mux.Handle("GET /runs/{id}/chart", s.auth(s.runChart))
	mux.Handle("GET /runs/{id}/candles", s.auth(s.runCandles))
	mux.Handle("GET /runs/{id}/report", s.auth(s.runReport))
	mux.Handle("GET /compare", s.auth(s.comparePage))
	mux.Handle("GET /backtests/new", s.auth(s.newBacktestPage))
	mux.Handle("POST /backtests", s.auth(s.submitBacktest))
	mux.Handle("GET /strategies", s.auth(s.strategiesPage))
	mux.Handle("GET /strategies/{name}", s.auth(s.strategyPage))
	mux.Handle("GET /strategies/{name}/diff", s.auth(s.diffPage))
	mux.Handle("GET /strategies/{name}/versions/{version}/promote", s.auth(s.promoteConfirm))
	mux.Handle("POST /strategies/{name}/versions/{version}/promote", s.auth(s.promote))
	mux.Handle("GET /strategies/{name}/rollback", s.auth(s.rollbackConfirm))
	mux.Handle("POST /strategies/{name}/rollback", s.auth(s.rollback))
	mux.Handle("GET /data", s.auth(s.dataPage))
	if s.d.Downloads != nil {
		mux.Handle("GET /data/downloads/new", s.auth(s.newDownloadPage))
		mux.Handle("POST /data/downloads", s.auth(s.submitDownload))
		mux.Handle("GET /data/downloads/{id}", s.auth(s.downloadPage))
		mux.Handle("GET /data/downloads/{id}/status", s.auth(s.downloadStatus))
	}
	if s.d.Deployments != nil {
		mux.Handle("GET /deployments", s.auth(s.deploymentsPage))
		mux.Handle("GET /deployments/rows", s.auth(s.deploymentsRows))
		mux.Handle("GET /deployments/new", s.auth(s.newDeploymentPage))
		mux.Handle("POST /deployments", s.auth(s.createDeployment))
		mux.Handle("GET /deployments/stop-all", s.auth(s.killSwitchConfirm))
		mux.Handle("POST /deployments/stop-all", s.auth(s.killSwitch))
		mux.Handle("GET /deployments/{id}", s.auth(s.deploymentPage))
		mux.Handle("GET /deployments/{id}/summary", s.auth(s.deploymentSummary))
		mux.Handle("GET /deployments/{id}/events", s.auth(s.deploymentEvents))
		mux.Handle("GET /deployments/{id}/logs", s.auth(s.deploymentLogs))
		mux.Handle("GET /deployments/{id}/chart", s.auth(s.deploymentChart))
		mux.Handle("GET /deployments/{id}/report", s.auth(s.deploymentReport))
		mux.Handle("GET /deployments/{id}/{action}", s.auth(s.deploymentConfirm))
		mux.Handle("POST /deployments/{id}/{action}", s.auth(s.deploymentAction))
	}
	if s.d.Studies != nil {
		mux.Handle("GET /studies", s.auth(s.studiesPage))
		mux.Handle("GET /studies/{id}", s.auth(s.studyPage))
		if s.d.WalkForwards != nil {
			mux.Handle("GET /walkforwards/{id}", s.auth(s.walkForwardPage))
			mux.Handle("GET /walkforwards/{id}/report", s.auth(s.walkForwardReport))
		}
		mux.Handle("GET /studies/{id}/status", s.auth(s.studyStatus))
		mux.Handle("GET /studies/{id}/convergence", s.auth(s.studyConvergence))
		mux.Handle("GET /studies/{id}/export", s.auth(s.studyExport))
		mux.Handle("GET /studies/{id}/report", s.auth(s.studyReport))
		mux.Handle("GET /studies/{id}/{action}", s.auth(s.studyConfirm))
		mux.Handle("POST /studies/{id}/{action}", s.auth(s.studyAction))
	}
	if s.d.Operations != nil {
		mux.Handle("GET /operations", s.auth(s.operationsPage))
		mux.Handle("POST /operations/retry", s.auth(s.operationsRetry))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.notFound(w, r, nil)
	})
	return secureHeaders(http.NewCrossOriginProtection().Handler(limitBody(mux)))
}

// maxForm bounds a form's body: the largest, the backtest form, holds a
// config of a few KiB.
const maxForm = 1 << 20

// limitBody bounds what a request's body may hold.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		}
		next.ServeHTTP(w, r)
	})
}

// secureHeaders sets the headers every page carries: only this origin's
// scripts and styles, no framing, no sniffing, no referrer leaving it.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// render writes c as the answer with status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := c.Render(r.Context(), w); err != nil {
		s.d.Log.Warn("web: render", "path", r.URL.Path, "err", err)
	}
}

// notFound is the 404 page: another tenant's things are not found either.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, r, http.StatusNotFound, s.page(sess, "Not found", "", errorBody("Not found", "There is nothing at "+r.URL.Path+".")))
}

// fail logs err and answers 500 without its text.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *session, what string, err error) {
	s.d.Log.Error("web: "+what, "path", r.URL.Path, "err", err)
	s.render(w, r, http.StatusInternalServerError, s.page(sess, "Error", "", errorBody("Something failed", what+" failed; the server logged why.")))
}

// now is the pages' time.
func (s *Server) now() time.Time { return s.o.Clock.Now() }
