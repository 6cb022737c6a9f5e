package client_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
)

func tgz(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func apiStatus(err error) int {
	var e *client.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// The registry through the API: push (201, then 200 for identical
// content), versions, show by stage, diff, promote, rollback; a backtest
// of NAME@production records the version and hash; the version it used
// cannot be deleted; another tenant sees nothing; bad uploads are 413/422.
func TestStrategyRegistryOverAPI(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{AllowExternal: true})
	c := newClient(t, s, client.Options{})
	ctx := ctxFor(t)
	py, err := os.ReadFile("../../examples/strategies/python/sma_cross.py")
	if err != nil {
		t.Fatal(err)
	}
	v1, err := c.PushStrategy(ctx, "pysma", tgz(t, map[string]string{"pysma/strategy.py": string(py)}), client.PushOptions{Message: "first", Tags: map[string]string{"team": "quant"}})
	if err != nil || !v1.Created || v1.Version != 1 || v1.Spec.Name != "sma_cross_py" || v1.Runtime != "python" || v1.Tags["team"] != "quant" {
		t.Fatalf("push: %+v, %v", v1, err)
	}
	again, err := c.PushStrategy(ctx, "pysma", tgz(t, map[string]string{"strategy.py": string(py)}), client.PushOptions{})
	if err != nil || again.Created || again.Version != 1 || again.SHA256 != v1.SHA256 {
		t.Fatalf("identical push: %+v, %v", again, err)
	}
	changed := strings.Replace(string(py), `"default": 10`, `"default": 12`, 1)
	changed = strings.Replace(changed, "default=10", "default=12", 1)
	changed += "\n# tuned\n"
	v2, err := c.PushStrategy(ctx, "pysma", tgz(t, map[string]string{"strategy.py": changed}), client.PushOptions{Message: "tuned"})
	if err != nil || v2.Version != 2 {
		t.Fatalf("second push: %+v, %v", v2, err)
	}
	if vs, err := c.StrategyVersions(ctx, "pysma"); err != nil || len(vs) != 2 || vs[1].Message != "tuned" {
		t.Fatalf("versions: %+v, %v", vs, err)
	}
	if _, err := c.PromoteStrategy(ctx, "pysma", "1", apitype.PromoteRequest{Stage: "production", Reason: "first release"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PromoteStrategy(ctx, "pysma", "2", apitype.PromoteRequest{Stage: "production", Reason: "tuned"}); err != nil {
		t.Fatal(err)
	}
	if v, err := c.StrategyVersion(ctx, "pysma", "production"); err != nil || v.Version != 2 {
		t.Fatalf("production: %+v, %v", v, err)
	}
	if v, err := c.StrategyVersion(ctx, "pysma", "1"); err != nil || v.Stage != "archived" {
		t.Fatalf("version 1 after promoting 2: %+v, %v", v, err)
	}
	d, err := c.DiffStrategy(ctx, "pysma", "1", "2")
	if err != nil || !strings.Contains(d.Code, "+# tuned") || d.From != "pysma@1" || d.To != "pysma@2" {
		t.Fatalf("diff: %+v, %v", d, err)
	}
	if v, err := c.RollbackStrategy(ctx, "pysma", apitype.RollbackRequest{Reason: "2 is worse"}); err != nil || v.Version != 1 || v.Stage != "production" {
		t.Fatalf("rollback: %+v, %v", v, err)
	}

	// A backtest of pysma@production runs version 1 and records it.
	tk, err := c.Submit(ctx, apitype.SubmitRequest{Strategy: "pysma@production", Config: exampleConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Wait(ctx, tk.RunID, nil)
	if err != nil || r.Status != client.Completed {
		t.Fatalf("run: %s %s, %v", r.Status, r.Error, err)
	}
	if r.Strategy != "pysma" || r.StrategyVersion != 1 || r.CodeSHA256 != v1.SHA256 {
		t.Fatalf("the run records %s@%d %s; want pysma@1 %s", r.Strategy, r.StrategyVersion, r.CodeSHA256, v1.SHA256)
	}
	if p, err := c.List(ctx, client.ListOptions{Strategy: "pysma", Version: 1}); err != nil || len(p.Runs) != 1 {
		t.Fatalf("runs of pysma@1: %d, %v", len(p.Runs), err)
	}
	if p, err := c.List(ctx, client.ListOptions{Strategy: "pysma", Version: 2}); err != nil || len(p.Runs) != 0 {
		t.Fatalf("runs of pysma@2: %d, %v", len(p.Runs), err)
	}
	if _, err := c.PromoteStrategy(ctx, "pysma", "1", apitype.PromoteRequest{Stage: "archived", Reason: "retire"}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteStrategyVersion(ctx, "pysma", "1"); apiStatus(err) != http.StatusConflict {
		t.Fatalf("deleting a version a run used: %v, want 409", err)
	}

	// Another tenant: 404 for everything of acme's.
	other, err := client.New(s.URL, s.NewToken(t, "mallory", "evil"), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.StrategyVersion(ctx, "pysma", "1"); apiStatus(err) != http.StatusNotFound {
		t.Fatalf("another tenant's show: %v, want 404", err)
	}
	if _, err := other.StrategyVersions(ctx, "pysma"); apiStatus(err) != http.StatusNotFound {
		t.Fatalf("another tenant's versions: %v, want 404", err)
	}
	if _, err := other.DiffStrategy(ctx, "pysma", "1", "2"); apiStatus(err) != http.StatusNotFound {
		t.Fatalf("another tenant's diff: %v, want 404", err)
	}
	if _, err := other.Submit(ctx, apitype.SubmitRequest{Strategy: "pysma@1", Config: exampleConfig(t)}); apiStatus(err) != http.StatusUnprocessableEntity {
		t.Fatalf("another tenant's version in a backtest: %v, want 422", err)
	}

	// Bad uploads.
	for _, c2 := range []struct {
		name   string
		body   []byte
		status int
	}{
		{"not an archive", []byte("print('hi')"), http.StatusUnprocessableEntity},
		{"path traversal", tgz(t, map[string]string{"../strategy.py": "x"}), http.StatusUnprocessableEntity},
		{"not a strategy", tgz(t, map[string]string{"strategy.py": "print('hi')\n"}), http.StatusUnprocessableEntity},
		{"zip bomb", tgz(t, map[string]string{"strategy.py": strings.Repeat("#", 9<<20)}), http.StatusRequestEntityTooLarge},
	} {
		if _, err := c.PushStrategy(ctx, "bad", c2.body, client.PushOptions{}); apiStatus(err) != c2.status {
			t.Errorf("%s: %v, want %d", c2.name, err, c2.status)
		}
	}
	if _, err := c.StrategyVersions(ctx, "bad"); apiStatus(err) != http.StatusNotFound {
		t.Errorf("refused pushes stored something: %v", err)
	}
}

// curl --data-binary sends application/x-www-form-urlencoded unless told
// otherwise; the push takes the archive whatever the Content-Type says.
func TestPushTakesAnyContentType(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{AllowExternal: true})
	py, err := os.ReadFile("../../examples/strategies/python/sma_cross.py")
	if err != nil {
		t.Fatal(err)
	}
	body := tgz(t, map[string]string{"strategy.py": string(py)})
	for i, ct := range []string{"application/x-www-form-urlencoded", "application/gzip", ""} {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/strategies/ct/versions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.Token)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusOK
		if i == 0 {
			want = http.StatusCreated
		}
		if resp.StatusCode != want {
			t.Errorf("Content-Type %q: %d, want %d", ct, resp.StatusCode, want)
		}
	}
}
