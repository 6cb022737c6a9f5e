package telemetry_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tradai/tradai/internal/telemetry"
)

// NewTracing's exporter posts the spans to the collector's /v1/traces in
// OTLP's JSON encoding: the service's name on the resource, ids in hex,
// the parent, kind and status as OTLP numbers them.
func TestTracingExportsOTLPJSON(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "wrong path or type", http.StatusBadRequest)
			return
		}
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer collector.Close()
	tr, err := telemetry.NewTracing(collector.URL+"/", "tradai-test")
	if err != nil {
		t.Fatal(err)
	}
	tracer := telemetry.Tracer(tr.Provider())
	ctx, parent := tracer.Start(context.Background(), "parent", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tracer.Start(ctx, "child")
	child.SetStatus(codes.Error, "venue down")
	child.End()
	parent.End()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 {
		t.Fatalf("%d exports, want 1", len(bodies))
	}
	var got struct {
		ResourceSpans []struct {
			Resource struct {
				Attributes []struct {
					Key   string
					Value struct{ StringValue string }
				}
			}
			ScopeSpans []struct {
				Spans []struct {
					TraceID, SpanID, ParentSpanID, Name string
					Kind                                int
					Status                              struct {
						Code    int
						Message string
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(bodies[0]), &got); err != nil {
		t.Fatal(err)
	}
	rs := got.ResourceSpans[0]
	if a := rs.Resource.Attributes; len(a) != 1 || a[0].Key != "service.name" || a[0].Value.StringValue != "tradai-test" {
		t.Errorf("resource %+v", a)
	}
	spans := rs.ScopeSpans[0].Spans
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	c, p := spans[0], spans[1]
	if c.Name != "child" || p.Name != "parent" || c.ParentSpanID != p.SpanID || c.TraceID != p.TraceID || len(c.TraceID) != 32 || len(c.SpanID) != 16 {
		t.Errorf("spans %+v", spans)
	}
	if p.Kind != 2 || c.Kind != 1 || c.Status.Code != 2 || c.Status.Message != "venue down" || p.Status.Code != 0 {
		t.Errorf("kinds %d %d, child status %+v, parent %+v", p.Kind, c.Kind, c.Status, p.Status)
	}
	if !strings.Contains(bodies[0], `"startTimeUnixNano":"`) {
		t.Errorf("times not as strings: %s", bodies[0])
	}
}

func TestNewTracingRefusesABadEndpoint(t *testing.T) {
	for _, ep := range []string{"collector:4318", "ftp://x", "http://"} {
		if _, err := telemetry.NewTracing(ep, "x"); err == nil || !strings.Contains(err.Error(), "--otlp-endpoint") {
			t.Errorf("%q: %v", ep, err)
		}
	}
}

// HTTP makes a server span of each request, named by its route, and
// continues the trace of an incoming traceparent header.
func TestHTTPSpans(t *testing.T) {
	exp, tp := memory()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !trace.SpanContextFromContext(r.Context()).IsValid() {
			t.Error("no span in the handler's context")
		}
		w.WriteHeader(http.StatusTeapot)
	})
	srv := httptest.NewServer(telemetry.HTTP(mux, tp))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/things/42", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	if s.Name != "HTTP GET /api/v1/things/{id}" || s.SpanKind != trace.SpanKindServer || s.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" ||
		s.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("span %q kind %v trace %v parent %v", s.Name, s.SpanKind, s.SpanContext.TraceID(), s.Parent.SpanID())
	}
}

// memory is a tracer provider recording into an in-memory exporter.
func memory() (*tracetest.InMemoryExporter, *sdktrace.TracerProvider) {
	exp := tracetest.NewInMemoryExporter()
	return exp, sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
}

// Whatever traceparent and tracestate a client sends, the request is
// served, in a trace: a malformed header starts a new one.
func FuzzHTTPTraceparent(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "congo=t61rcWkgMzE")
	f.Add("ff-00000000000000000000000000000000-0000000000000000-00", "")
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "a=,=b,,")
	_, tp := memory()
	h := telemetry.HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !trace.SpanContextFromContext(r.Context()).IsValid() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}), tp)
	f.Fuzz(func(t *testing.T, parent, state string) {
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Header["Traceparent"] = []string{parent}
		req.Header["Tracestate"] = []string{state}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("traceparent %q, tracestate %q: %d", parent, state, rec.Code)
		}
	})
}
