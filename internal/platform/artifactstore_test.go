package platform_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/objstore"
	"github.com/tradai/tradai/internal/objstore/s3store"
	"github.com/tradai/tradai/internal/objstore/s3store/s3storetest"
	"github.com/tradai/tradai/internal/platform"
)

// startWithArtifacts starts a server with one worker writing artifacts to
// store, and returns an API client of its first user.
func startWithArtifacts(t *testing.T, store objstore.Store) *client.Client {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	p, err := platform.New(platform.Config{Home: home, DataDir: clienttest.ExampleData(), Database: filepath.Join(home, "tradai.db"),
		Addr: "127.0.0.1:0", Workers: 1, Version: "test", ArtifactStore: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown(context.WithoutCancel(t.Context())) }) //nolint:errcheck // the test is over
	token, err := os.ReadFile(p.TokenFile())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(p.URL(), strings.TrimSpace(string(token)), client.Options{PollMin: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func submitBacktest(ctx context.Context, t *testing.T, c *client.Client) apitype.Run {
	t.Helper()
	ticket, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: clienttest.Config(t), Timerange: "20180110-20180111", Pairs: []string{"ETH/BTC"}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.Wait(ctx, ticket.RunID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// With --artifact-store on an S3-compatible server, a backtest's result
// and report are written there, the API serves them from there, and
// deleting the run deletes them.
func TestArtifactsInS3(t *testing.T) {
	srv := s3storetest.Start(t, "tradai")
	c := startWithArtifacts(t, srv.Store(t))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	run := submitBacktest(ctx, t, c)
	if run.Status != client.Completed {
		t.Fatalf("run %s: %s", run.Status, run.Error)
	}
	objects := srv.Objects(t)
	for _, name := range []string{"result.json", "report.html"} {
		i := slices.IndexFunc(objects, func(k string) bool {
			return strings.HasPrefix(k, "tradai/runs/"+run.ID+"/") && strings.HasSuffix(k, "/"+name)
		})
		if i < 0 {
			t.Fatalf("no %s of run %s in the bucket: %v", name, run.ID, objects)
		}
		b, err := c.Artifact(ctx, run.ID, name)
		if err != nil || len(b) == 0 {
			t.Fatalf("artifact %s through the API: %d bytes, %v", name, len(b), err)
		}
		if name == "report.html" && !strings.Contains(string(b), "<html") {
			t.Fatalf("report.html through the API is not HTML: %.100q", b)
		}
	}
	// A truncated object in the bucket is refused, never served.
	for _, k := range objects {
		if strings.HasSuffix(k, "/report.html") {
			srv.Tamper(t, k, []byte("<html>trunc"))
		}
	}
	if b, err := c.Artifact(ctx, run.ID, "report.html"); err == nil || !strings.Contains(err.Error(), "read artifact report.html failed") {
		t.Fatalf("a truncated report through the API: %.60q, %v", b, err)
	}
	if err := c.Delete(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if left := srv.Objects(t); len(left) != 0 {
		t.Fatalf("objects left after the run was deleted: %v", left)
	}
}

// An artifact store that cannot be reached fails the run with an error
// saying so, and records no artifact.
func TestArtifactStoreUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	st, err := s3store.New(s3store.Config{Bucket: "tradai", Endpoint: addr, Region: "us-east-1", MaxRetries: 1}, s3storetest.Credentials(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := startWithArtifacts(t, st)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	run := submitBacktest(ctx, t, c)
	if run.Status == client.Completed || !strings.Contains(run.Error, "in the artifact store s3://tradai/") {
		t.Fatalf("run %s with the artifact store unreachable: %q", run.Status, run.Error)
	}
	t.Logf("run %s: %s", run.Status, run.Error)
	got, err := c.Get(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Artifacts) != 0 {
		t.Fatalf("artifacts recorded for the failed run: %+v", got.Artifacts)
	}
}
