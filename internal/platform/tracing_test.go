package platform_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/platform"
)

// One backtest submitted through the API is one trace: the API request's
// span, the enqueueing of its run under it, the worker's job span
// continuing it through the job's arguments (another goroutine, which may
// be another process), and the strategy's calls under the job.
func TestBacktestTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background()) //nolint:errcheck // nothing left to export
	home := filepath.Join(t.TempDir(), "home")
	p, err := platform.New(platform.Config{Home: home, DataDir: clienttest.ExampleData(), Database: filepath.Join(home, "tradai.db"),
		Addr: "127.0.0.1:0", Workers: 1, Version: "test", TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.WithoutCancel(t.Context())) //nolint:errcheck // the test is over
	token, err := os.ReadFile(p.TokenFile())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(p.URL(), strings.TrimSpace(string(token)), client.Options{PollMin: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	ticket, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: clienttest.Config(t), Timerange: "20180110-20180111", Pairs: []string{"ETH/BTC", "LTC/BTC"}})
	if err != nil {
		t.Fatal(err)
	}
	if run, err := c.Wait(ctx, ticket.RunID, nil); err != nil || run.Status != client.Completed {
		t.Fatalf("run: %v %+v", err, run)
	}
	// The job's span ends when Work returns, after the run completed.
	var spans tracetest.SpanStubs
	poll(t, "the job's span", func() bool {
		spans = exp.GetSpans()
		for _, s := range spans {
			if s.Name == "job backtest" {
				return true
			}
		}
		return false
	})
	byName := map[string][]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
	}
	one := func(name string) tracetest.SpanStub {
		t.Helper()
		if len(byName[name]) == 0 {
			var names []string
			for n := range byName {
				names = append(names, n)
			}
			t.Fatalf("no span %q among %v", name, names)
		}
		return byName[name][0]
	}
	api, enqueue, job := one("HTTP POST /api/v1/backtests"), one("enqueue backtest"), one("job backtest")
	if api.SpanKind != trace.SpanKindServer || job.SpanKind != trace.SpanKindConsumer {
		t.Errorf("kinds: API %v, job %v", api.SpanKind, job.SpanKind)
	}
	if enqueue.Parent.SpanID() != api.SpanContext.SpanID() {
		t.Errorf("the enqueueing is not under the API request's span")
	}
	if job.Parent.SpanID() != enqueue.SpanContext.SpanID() || !job.Parent.IsRemote() {
		t.Errorf("the job's span does not continue the enqueueing's (parent %v, remote %v)", job.Parent.SpanID(), job.Parent.IsRemote())
	}
	populates := byName["strategy populate"]
	if len(populates) != 2 {
		t.Fatalf("%d strategy calls traced, want one per pair", len(populates))
	}
	for _, s := range append(populates, enqueue, job) {
		if s.SpanContext.TraceID() != api.SpanContext.TraceID() {
			t.Errorf("span %q is in trace %v, not the API request's %v", s.Name, s.SpanContext.TraceID(), api.SpanContext.TraceID())
		}
	}
	for _, s := range populates {
		if s.Parent.SpanID() != job.SpanContext.SpanID() {
			t.Errorf("a strategy call is not under the job's span")
		}
	}
}
