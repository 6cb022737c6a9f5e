package registry_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/tenancy"
)

func needPython(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
}

func examplePy(t testing.TB) []registry.File {
	t.Helper()
	b, err := os.ReadFile("../../examples/strategies/python/sma_cross.py")
	if err != nil {
		t.Fatal(err)
	}
	return []registry.File{{Name: "sma_cross.py", Data: b}}
}

// A Python version declares its spec by the handshake at push, and runs
// through strategyref by its reference, from its materialised folder.
func TestPythonVersionPushAndOpen(t *testing.T) {
	needPython(t)
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := setup(t, d)
		opts := strategyref.Options{CacheDir: t.TempDir()}
		reg, err := registry.New(registry.Config{DB: d, Dir: b.dir, Specs: strategyref.Specs{Options: opts}})
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := reg.Push(ctx, b.alice, "pysma", examplePy(t), registry.PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if v.Spec.Name != "sma_cross_py" || v.Entry != "sma_cross.py" || len(v.Spec.Params) == 0 {
			t.Fatalf("spec of the pushed Python strategy: %+v", v)
		}
		if _, err := reg.Promote(ctx, b.alice, "pysma@1", registry.StageProduction, "ship"); err != nil {
			t.Fatal(err)
		}
		opts.Registry = reg.Tenant(b.alice.Tenant)
		for _, ref := range []string{"pysma", "pysma@1", "pysma@production"} {
			s, closeFn, err := strategyref.Open(ctx, ref, opts)
			if err != nil {
				t.Fatalf("open %s: %v", ref, err)
			}
			if s.Spec().Name != "sma_cross_py" {
				t.Errorf("%s declares %q", ref, s.Spec().Name)
			}
			closeFn()
		}
		// Another tenant's reference does not resolve.
		opts.Registry = reg.Tenant(b.bob.Tenant)
		if _, _, err := strategyref.Open(ctx, "pysma@1", opts); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("bob opens alice's pysma@1: %v", err)
		}
		// A Python file that does not speak the protocol is refused at push.
		_, _, err = reg.Push(ctx, b.alice, "notastrategy", []registry.File{{Name: "strategy.py", Data: []byte("print('hello')\n")}}, registry.PushOptions{})
		if err == nil || !strings.Contains(err.Error(), "strategy.py") || strings.Contains(err.Error(), "@0") {
			t.Fatalf("a file that does not speak the protocol: %v", err)
		}
		// A wasm version that is no WebAssembly module is refused at push,
		// saying why (tradai's own tests push real modules).
		_, _, err = reg.Push(ctx, b.alice, "w", []registry.File{{Name: "strategy.wasm", Data: []byte("\x00asm")}}, registry.PushOptions{})
		if err == nil || !strings.Contains(err.Error(), "strategy.wasm") || !strings.Contains(err.Error(), "not a WebAssembly module") {
			t.Fatalf("a wasm push: %v", err)
		}
	})
}

// sized returns strategy files of about n bytes in all, made unique by i.
func sized(n, i int) []registry.File {
	body := fmt.Sprintf("# version %d\n", i) + strings.Repeat("x = 1  # padding line of a strategy\n", n/36)
	return []registry.File{{Name: "strategy.py", Data: []byte(body)}, {Name: "README.md", Data: []byte("hello\n")}}
}

func benchSetup(b *testing.B) (*registry.Registry, tenancy.Principal) {
	b.Helper()
	d := dbtest.Target{Dialect: db.SQLite, URL: "sqlite://" + filepath.Join(b.TempDir(), "tradai.db")}.Open(b)
	ctx := context.Background()
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	u, err := tenancy.New(d, nil, nil).CreateUser(ctx, "alice", "acme")
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "strategies")
	b.Cleanup(func() { makeWritable(dir) })
	reg, err := registry.New(registry.Config{DB: d, Dir: dir, Specs: &fakeSpecs{}})
	if err != nil {
		b.Fatal(err)
	}
	return reg, tenancy.Principal{Tenant: u.Tenant, User: u.ID}
}

// BenchmarkPush100KB: a new 100 KB version on SQLite — canonical archive,
// hash, files written, version stored — without the spec handshake (a
// fake SpecReader; BenchmarkPythonSpecHandshake measures that).
func BenchmarkPush100KB(b *testing.B) {
	reg, p := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, created, err := reg.Push(ctx, p, "bench", sized(100<<10, i), registry.PushOptions{Message: "bench"}); err != nil || !created {
			b.Fatal(created, err)
		}
	}
}

// BenchmarkResolveProduction: NAME@production from the cache.
func BenchmarkResolveProduction(b *testing.B) {
	reg, p := benchSetup(b)
	ctx := context.Background()
	if _, _, err := reg.Push(ctx, p, "bench", sized(1000, 0), registry.PushOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := reg.Promote(ctx, p, "bench@1", registry.StageProduction, "bench"); err != nil {
		b.Fatal(err)
	}
	res := reg.Tenant(p.Tenant)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := res.Resolve(ctx, "bench@production"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPythonSpecHandshake: starting a Python strategy once for its
// spec (python3, the SDK, the handshake), the part of a push the 50 ms
// target leaves out.
func BenchmarkPythonSpecHandshake(b *testing.B) {
	needPython(b)
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sma_cross.py"), examplePy(b)[0].Data, 0o644); err != nil {
		b.Fatal(err)
	}
	specs := strategyref.Specs{Options: strategyref.Options{CacheDir: b.TempDir()}}
	ctx := context.Background()
	for b.Loop() {
		if _, err := specs.ReadSpec(ctx, "python", dir, "sma_cross.py"); err != nil {
			b.Fatal(err)
		}
	}
}
