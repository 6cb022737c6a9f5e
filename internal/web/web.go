package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/a-h/templ"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/clock"
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

// Deps are what the web app serves from.
type Deps struct {
	Auth   Authenticator
	Runs   RunStore
	Submit Submitter
	Limits Limiter
	// Registry is the strategy registry (nil: the strategies pages show
	// the built-in strategies only).
	Registry Registry
	// DataDir is the market data store.
	DataDir string
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
	s := &Server{d: d, o: o, assets: a, docs: docs}
	s.handler = s.routes()
	return s, nil
}

// Handler is the web app's http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

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
