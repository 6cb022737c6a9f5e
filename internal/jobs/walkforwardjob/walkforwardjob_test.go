package walkforwardjob_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/tradai/tradai/internal/jobs/runkind"
	"github.com/tradai/tradai/internal/jobs/walkforwardjob"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/study"
	"github.com/tradai/tradai/internal/tenancy"
)

// progress records the progress set; cancel, when set, is called after
// the first.
type progress struct {
	got    []float64
	cancel func()
}

func (p *progress) SetProgress(_ context.Context, pr tenancy.Principal, id string, f float64) error {
	if pr.Tenant != "acme" || id != "run_1" {
		return errors.New("wrong run")
	}
	p.got = append(p.got, f)
	if p.cancel != nil {
		p.cancel()
	}
	return nil
}

func walkRun(t *testing.T, spec walkforwardjob.Spec) runs.Run {
	t.Helper()
	cfg, err := os.ReadFile("../../../examples/backtest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(cfg, &m); err != nil {
		t.Fatal(err)
	}
	m["exchange"].(map[string]any)["pair_whitelist"] = []string{"ETH/BTC"}
	raw, _ := json.Marshal(m)
	fp, _ := json.Marshal(spec)
	return runs.Run{ID: "run_1", Tenant: "acme", Spec: runs.RunSpec{Kind: runs.KindWalkForward, Strategy: "sma_cross", Config: raw, Fingerprint: string(fp)}}
}

func newKind(t *testing.T, p walkforwardjob.ProgressSetter) *walkforwardjob.Kind {
	t.Helper()
	k, err := walkforwardjob.New(walkforwardjob.Options{DataDir: "../../../examples/data", Progress: p})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var spec = walkforwardjob.Spec{Train: "8d", Test: "3d", Jobs: 1, Spec: study.Spec{Spaces: []string{"buy"}, Epochs: 4, Seed: 1}}

// The progress moves with the windows done, and the record step stores
// the three files of tradai walkforward.
func TestProgressAndResults(t *testing.T) {
	p := &progress{}
	k := newKind(t, p)
	a := k.Begin(walkRun(t, spec), nil)
	defer a.Close()
	var res runkind.Result
	for _, st := range k.Steps() {
		var err error
		if res, err = a.Do(context.Background(), st.Name); err != nil {
			t.Fatalf("%s: %v", st.Name, err)
		}
	}
	if len(p.got) != 3 || p.got[0] >= p.got[1] || p.got[2] != 0.95 {
		t.Fatalf("progress %v, want three rising figures ending at 0.95", p.got)
	}
	var names []string
	for _, a := range res.Outcome.Artifacts {
		names = append(names, a.Name)
	}
	if len(names) != 4 || names[0] != "walkforward.json" || names[1] != "report.html" || names[2] != "oos-report.html" || names[3] != "equity.json" || len(res.Outcome.Metrics) == 0 {
		t.Fatalf("artifacts %v, metrics %s", names, res.Outcome.Metrics)
	}
	var c walkforwardjob.Curves
	if err := json.Unmarshal(res.Outcome.Artifacts[3].Content, &c); err != nil || len(c.InSample) != 3 || len(c.OutOfSample) < 2 ||
		len(c.InSample[0]) < 2 || c.InSample[0][0].Time >= c.OutOfSample[0].Time || len(c.OutOfSample) > walkforwardjob.MaxCurvePoints+1 {
		t.Fatalf("curves %v: %d windows, %d out-of-sample points", err, len(c.InSample), len(c.OutOfSample))
	}
}

// A cancel (the queue cancels the step's context) stops the analysis
// after the window that was running: the step returns the context's
// error, not a permanent failure.
func TestCancelStopsBetweenWindows(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &progress{cancel: cancel}
	k := newKind(t, p)
	a := k.Begin(walkRun(t, spec), nil)
	defer a.Close()
	for _, st := range []string{walkforwardjob.StepValidate, walkforwardjob.StepLoad} {
		if _, err := a.Do(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	_, err := a.Do(ctx, walkforwardjob.StepWalk)
	if !errors.Is(err, context.Canceled) || runkind.IsPermanent(err) || len(p.got) != 1 {
		t.Fatalf("walk after a cancel: %v (permanent %v), progress %v", err, runkind.IsPermanent(err), p.got)
	}
}

// Bad settings and a bad strategy fail the run at once.
func TestBadRunsFailPermanently(t *testing.T) {
	bad := spec
	bad.Step = "1d"
	unknown := walkRun(t, spec)
	unknown.Spec.Strategy = "nope"
	for _, r := range []runs.Run{walkRun(t, bad), unknown} {
		a := newKind(t, &progress{}).Begin(r, nil)
		if _, err := a.Do(context.Background(), walkforwardjob.StepValidate); !runkind.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent failure", r.Spec.Fingerprint, err)
		}
		_ = a.Close()
	}
}
