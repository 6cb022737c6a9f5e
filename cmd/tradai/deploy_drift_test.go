package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
)

// deploy show prints the drift the server computed: the score, the
// verdict and each feature's figures; nothing when there is none.
func TestDeployShowDrift(t *testing.T) {
	x := apitype.Deployment{ID: "dep_1", State: "running", Drift: &apitype.DeploymentDrift{Score: 3.5, Verdict: "drift: the live returns no longer match the backtest (score 3.50)",
		Enough: true, Drifted: true, ComputedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Features: []apitype.DeploymentDriftFeature{{Name: "returns", Live: 40, Reference: 120, PSI: 0.875, KS: 0.6, KSP: 1e-9, Score: 3.5, Drifted: true},
			{Name: "holding_time", Live: 40, Reference: 120, PSI: 0.01, KS: 0.1, KSP: 0.9, Score: 0.2}}}}
	var b bytes.Buffer
	if err := writeDeployment(&b, x); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"drift:", "3.50 (1 is the alarm)", "no longer match", "returns:", "score 3.50: psi 0.875, ks 0.600 (p 1e-09); 40 live, 120 backtest, drifted",
		"holding time:", "score 0.20: psi 0.010, ks 0.100 (p 0.9); 40 live, 120 backtest\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("deploy show lacks %q:\n%s", want, b.String())
		}
	}
	x.Drift = nil
	b.Reset()
	if err := writeDeployment(&b, x); err != nil || strings.Contains(b.String(), "drift") {
		t.Errorf("no drift: %v\n%s", err, b.String())
	}
}
