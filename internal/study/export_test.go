package study

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/optimize"
	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/sdk"
)

// nameSpecs reads a pushed version's spec without running it: the
// strategy's name is the entry's first line, with fast and slow
// parameters.
type nameSpecs struct{}

func (nameSpecs) ReadSpec(_ context.Context, _, dir, entry string) (sdk.Spec, error) {
	b, err := os.ReadFile(filepath.Join(dir, entry))
	if err != nil {
		return sdk.Spec{}, err
	}
	name, _, _ := strings.Cut(string(b), "\n")
	return testSpec(name), nil
}

func testSpec(name string) sdk.Spec {
	return sdk.Spec{Name: name, Timeframe: "5m", Risk: sdk.Risk{Stoploss: -0.1, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.1}}},
		Params: []sdk.Param{{Name: "fast", Kind: sdk.Int, Default: 10, Min: 2, Max: 50}, {Name: "slow", Kind: sdk.Int, Default: 30, Min: 5, Max: 200}}}
}

func TestExportVersionPushesTheBestParameters(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		dir := filepath.Join(t.TempDir(), "strategies")
		t.Cleanup(func() {
			filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
				if err == nil && e.IsDir() {
					os.Chmod(p, 0o700)
				}
				return nil
			})
		})
		reg, err := registry.New(registry.Config{DB: d, Dir: dir, Specs: nameSpecs{}})
		if err != nil {
			t.Fatal(err)
		}
		v1, _, err := reg.Push(ctx, f.p, "mystrat", []registry.File{{Name: "strategy.py", Data: []byte("mystrat\n")}}, registry.PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.store.Create(ctx, f.p, Request{Strategy: "mystrat", StrategyVersion: v1.Number, Config: exampleConfig(t),
			Spec: Spec{Spaces: []string{"buy", "stoploss"}, Epochs: 10, Batch: 5}}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.store.ExportVersion(ctx, f.p, st, reg); !errors.Is(err, ErrNoBest) {
			t.Fatalf("export before any trial: %v", err)
		}
		dims := sample.Space{{Name: "fast", Low: 2, High: 50, Int: true}}
		if err := f.store.SetSpace(ctx, f.p, st.ID(), Space{Spaces: []string{"buy", "stoploss"}, Dims: dims, Strategy: testSpec("mystrat")}); err != nil {
			t.Fatal(err)
		}
		tell := func(batch string, fast int, stoploss, loss float64) {
			t.Helper()
			c, err := f.store.Claim(ctx, f.p, st.ID(), batch, dims)
			if err != nil || len(c) == 0 {
				t.Fatalf("claim: %v", err)
			}
			res := make([]Result, len(c))
			for i, cl := range c {
				l := loss + float64(i)
				res[i] = Result{Trial: optimize.Trial{Number: cl.Number, Point: cl.Point, Loss: l},
					Point: optimize.Point{Params: map[string]any{"fast": fast + i}, Risk: sdk.Risk{Stoploss: stoploss, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.1}}}}}
			}
			if _, err := f.store.Finish(ctx, f.p, st.ID(), batch, res, nil); err != nil {
				t.Fatal(err)
			}
		}
		tell("a", 7, -0.05, 1)
		st, _ = f.store.Get(ctx, f.p, st.ID())
		v2, created, err := f.store.ExportVersion(ctx, f.p, st, reg)
		if err != nil || !created || v2.Number != 2 || !strings.Contains(v2.Message, st.ID()) || !strings.Contains(v2.Message, "trial 1") {
			t.Fatalf("export: %+v created %v: %v", v2, created, err)
		}
		_, files, err := reg.Files(ctx, f.p, "mystrat@2")
		if err != nil {
			t.Fatal(err)
		}
		pf := fileNamed(files, "strategy.json")
		if len(files) != 2 || pf == nil {
			t.Fatalf("version 2 holds %d files", len(files))
		}
		parsed, err := optimize.ParseParams(pf.Data)
		if err != nil {
			t.Fatal(err)
		}
		baked, err := parsed.Bake(testSpec("mystrat"))
		if err != nil {
			t.Fatal(err)
		}
		if vals, _ := baked.Resolve(nil); fmt.Sprint(vals["fast"], vals["slow"]) != "7 30" || baked.Risk.Stoploss != -0.05 {
			t.Fatalf("the version's defaults: %v, stoploss %v", vals, baked.Risk.Stoploss)
		}
		// The same best again: the same version.
		again, created, err := f.store.ExportVersion(ctx, f.p, st, reg)
		if err != nil || created || again.Number != 2 {
			t.Fatalf("export again: %+v created %v: %v", again, created, err)
		}
		// A better trial: a new version, its parameter file replaced.
		tell("b", 12, -0.2, -5)
		st, _ = f.store.Get(ctx, f.p, st.ID())
		v3, created, err := f.store.ExportVersion(ctx, f.p, st, reg)
		if err != nil || !created || v3.Number != 3 {
			t.Fatalf("export a better trial: %+v created %v: %v", v3, created, err)
		}
		if _, files, _ := reg.Files(ctx, f.p, "mystrat@3"); len(files) != 2 || !strings.Contains(string(fileNamed(files, "strategy.json").Data), `"fast": 12`) {
			t.Fatalf("version 3's files: %d", len(files))
		}
		// A study of a built-in strategy has no code to push.
		builtin := f.create(t, Spec{Epochs: 5})
		if _, _, err := f.store.ExportVersion(ctx, f.p, builtin, reg); !errors.Is(err, ErrNotAVersion) {
			t.Fatalf("export a built-in's study: %v", err)
		}
		// Another tenant's study is not found.
		u, err := tenancy.New(d, nil, nil).CreateUser(ctx, "bob", "globex")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Get(ctx, tenancy.Principal{Tenant: u.Tenant, User: u.ID}, st.ID()); !IsNotFound(err) {
			t.Fatalf("another tenant: %v", err)
		}
	})
}

func fileNamed(files []registry.File, name string) *registry.File {
	for i := range files {
		if files[i].Name == name {
			return &files[i]
		}
	}
	return nil
}
