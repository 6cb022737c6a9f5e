package registry_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/sdk"
)

// fakeSpecs declares a spec named after the entry's first line, and counts
// the starts.
type fakeSpecs struct{ starts atomic.Int32 }

func (f *fakeSpecs) ReadSpec(_ context.Context, runtime, dir, entry string) (sdk.Spec, error) {
	f.starts.Add(1)
	b, err := os.ReadFile(filepath.Join(dir, entry))
	if err != nil {
		return sdk.Spec{}, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	if first == "broken" {
		return sdk.Spec{}, errors.New("the program did not answer the handshake")
	}
	return sdk.Spec{Name: first, Timeframe: "5m", StartupCandles: 10, Risk: sdk.Risk{Stoploss: -0.1}}, nil
}

type bundle struct {
	reg        *registry.Registry
	specs      *fakeSpecs
	dir        string
	clk        *clock.Fake
	alice, bob tenancy.Principal
	d          *db.DB
}

func setup(t *testing.T, d *db.DB) bundle {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	ten := tenancy.New(d, clk, nil)
	a, err := ten.CreateUser(ctx, "alice", "acme")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ten.CreateUser(ctx, "bob", "globex")
	if err != nil {
		t.Fatal(err)
	}
	specs := &fakeSpecs{}
	dir := filepath.Join(t.TempDir(), "strategies")
	reg, err := registry.New(registry.Config{DB: d, Dir: dir, Specs: specs, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { makeWritable(dir) })
	return bundle{reg: reg, specs: specs, dir: dir, clk: clk, d: d,
		alice: tenancy.Principal{Tenant: a.Tenant, User: a.ID}, bob: tenancy.Principal{Tenant: b.Tenant, User: b.ID}}
}

// makeWritable lets t.TempDir remove the read-only version folders.
func makeWritable(dir string) {
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
}

func src(body string) []registry.File {
	return []registry.File{{Name: "strategy.py", Data: []byte(body)}, {Name: "lib/helpers.py", Data: []byte("X = 1\n")}}
}

func TestPushVersionsAndTenants(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := setup(t, d)
		v1, created, err := b.reg.Push(ctx, b.alice, "mystrat", src("one\n"), registry.PushOptions{Message: "first", Tags: map[string]string{"team": "a"}})
		if err != nil || !created || v1.Number != 1 || v1.Runtime != registry.Python || v1.Entry != "strategy.py" || v1.Spec.Name != "one" || v1.Stage != registry.StageNone {
			t.Fatalf("first push: %+v, %v, %v", v1, created, err)
		}
		// The same files, in another order: the same version, not started again.
		again, created, err := b.reg.Push(ctx, b.alice, "mystrat", []registry.File{src("one\n")[1], src("one\n")[0]}, registry.PushOptions{Message: "again"})
		if err != nil || created || again.Number != 1 || again.SHA256 != v1.SHA256 || again.Message != "first" || b.specs.starts.Load() != 1 {
			t.Fatalf("identical push: %+v, created %v, %v (%d starts)", again, created, err, b.specs.starts.Load())
		}
		v2, created, err := b.reg.Push(ctx, b.alice, "mystrat", src("two\n"), registry.PushOptions{})
		if err != nil || !created || v2.Number != 2 || v2.SHA256 == v1.SHA256 {
			t.Fatalf("second push: %+v, %v", v2, err)
		}
		vs, err := b.reg.Versions(ctx, b.alice, "mystrat")
		if err != nil || len(vs) != 2 || vs[0].Number != 1 || vs[1].Number != 2 || vs[0].Tags["team"] != "a" || vs[0].Author != b.alice.User {
			t.Fatalf("versions: %+v, %v", vs, err)
		}
		for ref, want := range map[string]int{"mystrat": 2, "mystrat@latest": 2, "mystrat@1": 1} {
			if v, err := b.reg.Get(ctx, b.alice, ref); err != nil || v.Number != want {
				t.Errorf("%s: %d, %v; want %d", ref, v.Number, err, want)
			}
		}
		if _, err := b.reg.Get(ctx, b.alice, "mystrat@production"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("no production version yet: %v", err)
		}

		// Bob sees none of it, and his own name is his own.
		for _, ref := range []string{"mystrat", "mystrat@1"} {
			if _, err := b.reg.Get(ctx, b.bob, ref); !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("bob gets alice's %s: %v", ref, err)
			}
			if _, _, err := b.reg.Files(ctx, b.bob, ref); !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("bob reads alice's %s: %v", ref, err)
			}
		}
		if _, err := b.reg.Versions(ctx, b.bob, "mystrat"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("bob lists alice's versions: %v", err)
		}
		if _, _, err := b.reg.Push(ctx, b.alice, "another", src("three\n"), registry.PushOptions{}); err != nil {
			t.Fatal(err)
		}
		if names, err := b.reg.Names(ctx, b.alice); err != nil || !slices.Equal(names, []string{"another", "mystrat"}) {
			t.Errorf("alice's names: %q, %v", names, err)
		}
		if names, err := b.reg.Names(ctx, b.bob); err != nil || len(names) != 0 {
			t.Errorf("bob sees alice's names: %q, %v", names, err)
		}
		if _, err := b.reg.Promote(ctx, b.bob, "mystrat@1", registry.StageProduction, "x"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("bob promotes alice's version: %v", err)
		}
		if err := b.reg.Delete(ctx, b.bob, "mystrat@1"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("bob deletes alice's version: %v", err)
		}
		bv, created, err := b.reg.Push(ctx, b.bob, "mystrat", src("one\n"), registry.PushOptions{})
		if err != nil || !created || bv.Number != 1 {
			t.Fatalf("bob's push of the same name and content: %+v, %v", bv, err)
		}

		// The files come back as pushed, and materialise read-only.
		_, files, err := b.reg.Files(ctx, b.alice, "mystrat@2")
		if err != nil || len(files) != 2 || files[0].Name != "lib/helpers.py" || string(files[1].Data) != "two\n" {
			t.Fatalf("files of mystrat@2: %+v, %v", files, err)
		}
		rv, err := b.reg.Tenant(b.alice.Tenant).Resolve(ctx, "mystrat@2")
		if err != nil || rv.Dir != filepath.Join(b.dir, v2.SHA256) || rv.Entry != "strategy.py" || rv.Runtime != "python" {
			t.Fatalf("resolve: %+v, %v", rv, err)
		}
		if got, err := os.ReadFile(filepath.Join(rv.Dir, "lib", "helpers.py")); err != nil || string(got) != "X = 1\n" {
			t.Fatalf("materialised file: %q, %v", got, err)
		}
		if err := os.WriteFile(filepath.Join(rv.Dir, "strategy.py"), []byte("evil"), 0o644); err == nil && os.Getuid() != 0 {
			t.Error("a materialised file is writable")
		}
		if _, err := b.reg.Tenant(b.bob.Tenant).Resolve(ctx, "mystrat@2"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("bob resolves alice's mystrat@2: %v", err)
		}
	})
}

func TestPushRefusesBadInput(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := setup(t, d)
		cases := []struct {
			name  string
			files []registry.File
			o     registry.PushOptions
			says  string
		}{
			{"bad name!", src("a\n"), registry.PushOptions{}, "strategy name"},
			{"s", src("broken\n"), registry.PushOptions{}, "handshake"},
			{"s", src("\n"), registry.PushOptions{}, "no name"}, // the spec fails validation
			{"s", []registry.File{{Name: "a.py"}, {Name: "b.py"}}, registry.PushOptions{}, "which file is the strategy"},
			{"s", src("a\n"), registry.PushOptions{Runtime: "jvm"}, "unknown runtime"},
			{"s", src("a\n"), registry.PushOptions{Tags: map[string]string{"a=b": "c"}}, "tag key"},
			{"s", []registry.File{{Name: "../x.py"}}, registry.PushOptions{}, ".."},
		}
		for _, c := range cases {
			_, _, err := b.reg.Push(ctx, b.alice, c.name, c.files, c.o)
			if !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("%s: %v; want ErrInvalid saying %q", c.says, err, c.says)
			}
		}
		// Nothing half-stored: no strategy, no version, no files on disk.
		if _, err := b.reg.Versions(ctx, b.alice, "s"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("a refused push left a version: %v", err)
		}
		if ents, _ := os.ReadDir(b.dir); len(ents) != 0 {
			t.Errorf("a refused push left files: %v", ents)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM strategies`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d strategies stored, %v", n, err)
		}
		small, err := registry.New(registry.Config{DB: d, Dir: b.dir, Specs: b.specs, Limits: registry.Limits{MaxFiles: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := small.Push(ctx, b.alice, "s", src("a\n"), registry.PushOptions{}); !errors.Is(err, registry.ErrTooLarge) {
			t.Errorf("over the file limit: %v", err)
		}
	})
}

func TestStagesRollbackAndDelete(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := setup(t, d)
		for i := 1; i <= 3; i++ {
			if _, _, err := b.reg.Push(ctx, b.alice, "s", src(fmt.Sprintf("v%d\n", i)), registry.PushOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		stageOf := func(n int) registry.Stage {
			t.Helper()
			v, err := b.reg.Get(ctx, b.alice, fmt.Sprintf("s@%d", n))
			if err != nil {
				t.Fatal(err)
			}
			return v.Stage
		}
		resolve := func(ref string) int {
			t.Helper()
			v, err := b.reg.Resolve(ctx, b.alice.Tenant, ref)
			if err != nil {
				t.Fatal(err)
			}
			return v.Number
		}
		if _, err := b.reg.Rollback(ctx, b.alice, "s", ""); !errors.Is(err, registry.ErrConflict) {
			t.Fatalf("rollback without production: %v", err)
		}
		if _, err := b.reg.Promote(ctx, b.alice, "s@1", registry.StageProduction, "first release"); err != nil {
			t.Fatal(err)
		}
		if got := resolve("s@production"); got != 1 {
			t.Fatalf("s@production = %d", got)
		}
		if _, err := b.reg.Promote(ctx, b.alice, "s@2", registry.StageStaging, "try it"); err != nil {
			t.Fatal(err)
		}
		b.clk.Advance(time.Second)
		if _, err := b.reg.Promote(ctx, b.alice, "s@2", registry.StageProduction, "better"); err != nil {
			t.Fatal(err)
		}
		// The cache was invalidated by the promotion.
		if got := resolve("s@production"); got != 2 {
			t.Fatalf("after promoting 2, s@production = %d", got)
		}
		if stageOf(1) != registry.StageArchived || stageOf(2) != registry.StageProduction {
			t.Fatalf("stages: %s, %s", stageOf(1), stageOf(2))
		}
		if _, err := b.reg.Promote(ctx, b.alice, "s@2", registry.StageProduction, "again"); !errors.Is(err, registry.ErrConflict) {
			t.Fatalf("promoting the production version again: %v", err)
		}
		if _, err := b.reg.Promote(ctx, b.alice, "s@3", "live", "x"); !errors.Is(err, registry.ErrInvalid) {
			t.Fatalf("unknown stage: %v", err)
		}
		b.clk.Advance(time.Second)
		v, err := b.reg.Rollback(ctx, b.alice, "s", "2 loses money")
		if err != nil || v.Number != 1 || v.Stage != registry.StageProduction {
			t.Fatalf("rollback: %+v, %v", v, err)
		}
		if stageOf(2) != registry.StageArchived || resolve("s@production") != 1 {
			t.Fatalf("after rollback: 2 is %s, production is %d", stageOf(2), resolve("s@production"))
		}
		hist, err := b.reg.History(ctx, b.alice, "s")
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, h := range hist {
			lines = append(lines, fmt.Sprintf("%d %s→%s %s", h.Number, h.From, h.To, h.Reason))
			if h.By != b.alice.User {
				t.Errorf("stage change by %q", h.By)
			}
		}
		want := []string{"1 none→production first release", "2 none→staging try it", "1 production→archived replaced in production by s@2",
			"2 staging→production better", "2 production→archived replaced in production by s@1", "1 archived→production 2 loses money"}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
		var audited int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'strategy.stage' AND user_id = ?`, b.alice.User).Scan(&audited); err != nil || audited != len(want) {
			t.Fatalf("%d stage changes audited, %v", audited, err)
		}

		// A version a run used cannot be deleted; nor the production one;
		// an unused one can.
		store := runs.New(d, b.clk, 3, nil)
		if _, _, err := store.Create(ctx, b.alice, runs.RunSpec{Strategy: "s", StrategyVersion: 2, CodeSHA256: "x"}, ""); err != nil {
			t.Fatal(err)
		}
		if err := b.reg.Delete(ctx, b.alice, "s@2"); !errors.Is(err, registry.ErrInUse) {
			t.Fatalf("deleting a version a run used: %v", err)
		}
		if err := b.reg.Delete(ctx, b.alice, "s@1"); !errors.Is(err, registry.ErrInUse) {
			t.Fatalf("deleting the production version: %v", err)
		}
		if err := b.reg.Delete(ctx, b.alice, "s@3"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.reg.Get(ctx, b.alice, "s@3"); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("deleted version: %v", err)
		}
	})
}

func TestDiff(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := setup(t, d)
		b.reg.Push(ctx, b.alice, "s", []registry.File{{Name: "strategy.py", Data: []byte("one\na\nb\nc\n")}, {Name: "old.py", Data: []byte("gone\n")}}, registry.PushOptions{})
		b.reg.Push(ctx, b.alice, "s", []registry.File{{Name: "strategy.py", Data: []byte("two\na\nB\nc\n")}, {Name: "new.py", Data: []byte("hi\n")}}, registry.PushOptions{})
		df, err := b.reg.Diff(ctx, b.alice, "s@1", "s@2")
		if err != nil {
			t.Fatal(err)
		}
		want := "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+hi\n" +
			"--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n" +
			"--- a/strategy.py\n+++ b/strategy.py\n@@ -1,4 +1,4 @@\n-one\n+two\n a\n-b\n+B\n c\n"
		if df.Code != want {
			t.Fatalf("code diff:\n%s\nwant:\n%s", df.Code, want)
		}
		if !strings.Contains(df.Spec, `-  "name": "one",`) || !strings.Contains(df.Spec, `+  "name": "two",`) {
			t.Fatalf("spec diff:\n%s", df.Spec)
		}
		// A renamed strategy file is compared with its former self.
		b.reg.Push(ctx, b.alice, "r", []registry.File{{Name: "a.py", Data: []byte("x\ny\n")}}, registry.PushOptions{})
		b.reg.Push(ctx, b.alice, "r", []registry.File{{Name: "strategy.py", Data: []byte("x\nz\n")}}, registry.PushOptions{})
		df, err = b.reg.Diff(ctx, b.alice, "r@1", "r@2")
		if want := "renamed a.py → strategy.py\n--- a/a.py\n+++ b/strategy.py\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n"; err != nil || df.Code != want {
			t.Fatalf("diff of a renamed file: %v\n%s\nwant:\n%s", err, df.Code, want)
		}
		if df.Spec != "" {
			t.Fatalf("same spec, diff:\n%s", df.Spec)
		}
	})
}

// Concurrent pushes of one name get distinct numbers; concurrent pushes of
// the same content get one version.
func TestConcurrentPushes(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := setup(t, d)
		const n = 8
		errs := make(chan error, 2*n)
		nums := make(chan int, 2*n)
		for i := range n {
			go func() {
				v, _, err := b.reg.Push(ctx, b.alice, "c", src(fmt.Sprintf("v%d\n", i)), registry.PushOptions{})
				errs <- err
				nums <- v.Number
			}()
			go func() {
				v, _, err := b.reg.Push(ctx, b.alice, "same", src("same\n"), registry.PushOptions{})
				errs <- err
				nums <- -v.Number
			}()
		}
		seen := map[int]bool{}
		for range 2 * n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
			seen[<-nums] = true
		}
		for i := 1; i <= n; i++ {
			if !seen[i] {
				t.Errorf("no version %d of c: %v", i, seen)
			}
		}
		if !seen[-1] || seen[-2] {
			t.Errorf("identical concurrent pushes made more than one version: %v", seen)
		}
	})
}

// Concurrent promotions to production leave exactly one version there.
func TestConcurrentPromotions(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := setup(t, d)
		const n = 6
		for i := range n {
			if _, _, err := b.reg.Push(ctx, b.alice, "p", src(fmt.Sprintf("v%d\n", i)), registry.PushOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		errs := make(chan error, n)
		for i := 1; i <= n; i++ {
			go func() {
				_, err := b.reg.Promote(ctx, b.alice, fmt.Sprintf("p@%d", i), registry.StageProduction, "race")
				errs <- err
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		vs, err := b.reg.Versions(ctx, b.alice, "p")
		if err != nil {
			t.Fatal(err)
		}
		prod := 0
		for _, v := range vs {
			switch v.Stage {
			case registry.StageProduction:
				prod++
			case registry.StageArchived:
			default:
				t.Errorf("%s is in %s", v.Ref(), v.Stage)
			}
		}
		if prod != 1 {
			t.Fatalf("%d versions in production", prod)
		}
	})
}
