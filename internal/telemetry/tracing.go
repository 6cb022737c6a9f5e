package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TracerName is the instrumentation scope of TradAI's spans.
const TracerName = "github.com/tradai/tradai"

// Tracer is the tracer of tp (nil: one that records nothing).
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		return noop.NewTracerProvider().Tracer(TracerName)
	}
	return tp.Tracer(TracerName)
}

// Tracing is a process's tracer provider exporting to an OTLP/HTTP
// collector.
type Tracing struct {
	tp *sdktrace.TracerProvider
}

// NewTracing exports the process's spans, batched, to the OTLP/HTTP
// collector at endpoint (its base URL, as OTEL_EXPORTER_OTLP_ENDPOINT
// names it: http://collector:4318; spans go to /v1/traces there, as
// OTLP's JSON encoding), naming the process service.
//
// The exporter is TradAI's own: OpenTelemetry's OTLP exporters link a gRPC
// stack, which the tradai binary keeps out.
func NewTracing(endpoint, service string) (*Tracing, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--otlp-endpoint %q: want the collector's base URL, http(s)://host:port", endpoint)
	}
	exp := &otlpExporter{url: strings.TrimRight(endpoint, "/") + "/v1/traces", service: service, http: &http.Client{Timeout: 10 * time.Second}}
	return &Tracing{tp: sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))}, nil
}

// Provider is the tracer provider to hand to the process's parts.
func (t *Tracing) Provider() trace.TracerProvider { return t.tp }

// Shutdown exports the spans still held and stops.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush the traces: %w", err)
	}
	return nil
}

// HTTP traces every request h serves as a server span named by its method
// and, once the ServeMux matched it, its route pattern, continuing the
// trace a traceparent header names.
func HTTP(h http.Handler, tp trace.TracerProvider) http.Handler {
	tr := Tracer(tp)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tr.Start(ctx, "HTTP "+r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		r = r.WithContext(ctx)
		h.ServeHTTP(sw, r)
		if r.Pattern != "" {
			_, route, _ := strings.Cut(r.Pattern, " ")
			span.SetName("HTTP " + r.Method + " " + route)
			span.SetAttributes(attribute.String("http.route", route))
		}
		span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status))
		}
	})
}

// statusWriter keeps the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// otlpExporter sends spans to an OTLP/HTTP collector in OTLP's JSON
// encoding (the OTLP specification's "JSON Protobuf Encoding": ids in
// hex, enums as numbers, 64-bit integers as strings).
type otlpExporter struct {
	url, service string
	http         *http.Client
}

type (
	otlpTraces struct {
		ResourceSpans []otlpResourceSpans `json:"resourceSpans"`
	}
	otlpResourceSpans struct {
		Resource   otlpResource     `json:"resource"`
		ScopeSpans []otlpScopeSpans `json:"scopeSpans"`
	}
	otlpResource struct {
		Attributes []otlpKeyValue `json:"attributes"`
	}
	otlpScopeSpans struct {
		Scope struct {
			Name string `json:"name"`
		} `json:"scope"`
		Spans []otlpSpan `json:"spans"`
	}
	otlpSpan struct {
		TraceID      string         `json:"traceId"`
		SpanID       string         `json:"spanId"`
		ParentSpanID string         `json:"parentSpanId,omitempty"`
		Name         string         `json:"name"`
		Kind         int            `json:"kind"`
		Start        string         `json:"startTimeUnixNano"`
		End          string         `json:"endTimeUnixNano"`
		Attributes   []otlpKeyValue `json:"attributes,omitempty"`
		Status       otlpStatus     `json:"status"`
	}
	otlpStatus struct {
		Code    int    `json:"code,omitempty"`
		Message string `json:"message,omitempty"`
	}
	otlpKeyValue struct {
		Key   string    `json:"key"`
		Value otlpValue `json:"value"`
	}
	otlpValue struct {
		String *string  `json:"stringValue,omitempty"`
		Bool   *bool    `json:"boolValue,omitempty"`
		Int    *string  `json:"intValue,omitempty"`
		Double *float64 `json:"doubleValue,omitempty"`
	}
)

func otlpAttrs(kvs []attribute.KeyValue) []otlpKeyValue {
	out := make([]otlpKeyValue, 0, len(kvs))
	for _, kv := range kvs {
		var v otlpValue
		switch kv.Value.Type() {
		case attribute.BOOL:
			b := kv.Value.AsBool()
			v.Bool = &b
		case attribute.INT64:
			i := strconv.FormatInt(kv.Value.AsInt64(), 10)
			v.Int = &i
		case attribute.FLOAT64:
			f := kv.Value.AsFloat64()
			v.Double = &f
		default:
			s := kv.Value.String()
			v.String = &s
		}
		out = append(out, otlpKeyValue{Key: string(kv.Key), Value: v})
	}
	return out
}

// otlpStatusCode maps OpenTelemetry's status codes to OTLP's (Unset 0,
// Ok 1, Error 2).
func otlpStatusCode(c codes.Code) int {
	switch c {
	case codes.Ok:
		return 1
	case codes.Error:
		return 2
	}
	return 0
}

func (e *otlpExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	scopes := map[string]*otlpScopeSpans{}
	var order []string
	for _, s := range spans {
		name := s.InstrumentationScope().Name
		sc, ok := scopes[name]
		if !ok {
			sc = &otlpScopeSpans{}
			sc.Scope.Name = name
			scopes[name] = sc
			order = append(order, name)
		}
		sp := otlpSpan{
			TraceID: s.SpanContext().TraceID().String(), SpanID: s.SpanContext().SpanID().String(),
			Name: s.Name(), Kind: int(s.SpanKind()),
			Start: strconv.FormatInt(s.StartTime().UnixNano(), 10), End: strconv.FormatInt(s.EndTime().UnixNano(), 10),
			Attributes: otlpAttrs(s.Attributes()),
			Status:     otlpStatus{Code: otlpStatusCode(s.Status().Code), Message: s.Status().Description},
		}
		if p := s.Parent(); p.IsValid() {
			sp.ParentSpanID = p.SpanID().String()
		}
		sc.Spans = append(sc.Spans, sp)
	}
	rs := otlpResourceSpans{Resource: otlpResource{Attributes: otlpAttrs([]attribute.KeyValue{attribute.String("service.name", e.service)})}}
	for _, name := range order {
		rs.ScopeSpans = append(rs.ScopeSpans, *scopes[name])
	}
	body, err := json.Marshal(otlpTraces{ResourceSpans: []otlpResourceSpans{rs}})
	if err != nil {
		return fmt.Errorf("encode spans: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("export spans: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return fmt.Errorf("export spans to %s: %w", e.url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("export spans to %s: %s: %s", e.url, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

func (e *otlpExporter) Shutdown(context.Context) error { return nil }
