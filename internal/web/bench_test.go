package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/internal/web"
)

type noLimits struct{}

func (noLimits) TakeRequest(tenancy.Principal) (time.Duration, bool) { return 0, true }
func (noLimits) AuthWait(*http.Request) time.Duration                { return 0 }
func (noLimits) AuthFailed(*http.Request)                            {}

type noSubmit struct{}

func (noSubmit) Submit(context.Context, tenancy.Principal, apitype.SubmitRequest, string) (runs.Run, error) {
	return runs.Run{}, fmt.Errorf("not in this benchmark")
}

// BenchmarkRunsList10000 measures the runs list's first page of a tenant
// with 10,000 runs (the newest 100 completed with metrics) on SQLite, over
// loopback HTTP: the time to the answer's first byte and to its last
// (p50 and p99 of b.N requests), and the page's size. Targets: first byte
// ≤ 50 ms, page ≤ 200 KB.
func BenchmarkRunsList10000(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	d, err := db.Open(ctx, filepath.Join(b.TempDir(), "tradai.db"), log)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	ten := tenancy.New(d, nil, log)
	u, err := ten.CreateUser(ctx, "alice", "acme")
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := ten.CreateToken(ctx, u.ID)
	if err != nil {
		b.Fatal(err)
	}
	p := tenancy.Principal{Tenant: u.Tenant, User: u.ID}
	store := runs.New(d, nil, 3, log)
	metrics, _ := json.Marshal(map[string]any{"profit_total": 0.0123, "total_trades": 42, "max_drawdown_account": 0.05})
	const n = 10_000
	for i := range n {
		spec := runs.RunSpec{Kind: runs.KindBacktest, Strategy: "rsi_bollinger", Params: json.RawMessage(`{"rsi_period":14}`), Config: json.RawMessage(`{}`),
			Fingerprint: fmt.Sprint("fp", i), Tags: map[string]string{"experiment": fmt.Sprint("e", i%17), "team": "quant"}}
		r, _, err := store.Create(ctx, p, spec, "")
		if err != nil {
			b.Fatal(err)
		}
		if i >= n-100 {
			if _, err := store.MarkRunning(ctx, p, r.ID, "run"); err != nil {
				b.Fatal(err)
			}
			if _, err := store.Complete(ctx, p, r.ID, runs.Outcome{Metrics: metrics}); err != nil {
				b.Fatal(err)
			}
		}
	}
	s, err := web.New(web.Deps{Auth: ten, Runs: store, Submit: noSubmit{}, Limits: noLimits{}, DataDir: b.TempDir(), Log: log, Version: "bench"}, web.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	client := srv.Client()
	get := func() (first, all time.Duration, size int) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/runs", nil)
		req.AddCookie(&http.Cookie{Name: "tradai_session", Value: token})
		began := time.Now()
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotFirstResponseByte: func() { first = time.Since(began) },
		}))
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("GET /runs: %d %v", res.StatusCode, err)
		}
		return first, time.Since(began), len(body)
	}
	for range 20 {
		get()
	}
	firsts, alls := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	size := 0
	b.ResetTimer()
	for range b.N {
		f, a, sz := get()
		firsts, alls, size = append(firsts, f), append(alls, a), sz
	}
	b.StopTimer()
	q := func(ds []time.Duration, f float64) float64 {
		slices.Sort(ds)
		return float64(ds[min(len(ds)-1, int(f*float64(len(ds))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(firsts, 0.5), "first-byte-p50-ms")
	b.ReportMetric(q(firsts, 0.99), "first-byte-p99-ms")
	b.ReportMetric(q(alls, 0.99), "page-p99-ms")
	b.ReportMetric(float64(size)/1024, "page-KB")
	if size > 200<<10 {
		b.Errorf("the page is %d KB; the target is 200 KB", size>>10)
	}
}

type oneToken struct{ p tenancy.Principal }

func (a oneToken) Authenticate(_ context.Context, token string) (tenancy.Principal, error) {
	if token != "tdi_good" {
		return tenancy.Principal{}, tenancy.ErrUnauthenticated
	}
	return a.p, nil
}

// The session cookie is Secure when the request came over TLS to the
// proxy in front, if the server trusts its X-Forwarded-Proto, and only then.
func TestSecureCookieBehindAProxy(t *testing.T) {
	t.Parallel()
	for _, trust := range []bool{false, true} {
		s, err := web.New(web.Deps{Auth: oneToken{tenancy.Principal{Tenant: "t", User: "u"}}, Runs: &runs.Store{}, Submit: noSubmit{}, Limits: noLimits{}, DataDir: t.TempDir()},
			web.Options{TrustForwardedProto: trust})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/signin", strings.NewReader("token=tdi_good"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		cookie := w.Result().Header.Get("Set-Cookie")
		if w.Code != http.StatusSeeOther || strings.Contains(cookie, "Secure") != trust {
			t.Errorf("trusting X-Forwarded-Proto %v: %d, cookie %q", trust, w.Code, cookie)
		}
	}
}
