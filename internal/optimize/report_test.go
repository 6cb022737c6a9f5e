package optimize

import (
	"math"
	"testing"

	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/report"
)

// The study report gets every trial with what it is (failed, capped at
// the largest loss), the importance the optimiser ranks and the figures
// of the overfitting it was given.
func TestFillStudyReport(t *testing.T) {
	dims := sample.Space{{Name: "a", Low: 0, High: 1}, {Name: "b", Low: 0, High: 1}}
	st := &Study{Failed: 1}
	for i := range 60 {
		x := []float64{float64(i) / 60, float64(i%7) / 7}
		tr := Trial{Number: i + 1, Point: x, Loss: x[0], Figures: Figures{Trades: i, ProfitTotal: 0.01, MaxDrawdownAccount: 0.2, Sharpe: 1.5}}
		switch i {
		case 3:
			tr.Err, tr.Loss = "boom", math.Inf(1)
		case 4:
			tr.Loss = MaxLoss
		}
		st.Trials = append(st.Trials, tr)
	}
	of := Overfitting{Trials: 58, Kept: make([]int, 20), DSR: 0.4, PBO: 0.6, Verdict: "Likely overfit: …"}
	var rep report.StudyReport
	FillStudyReport(&rep, st, dims, of)
	if len(rep.Trials) != 60 || rep.Failed != 1 || !rep.Trials[3].Failed || rep.Trials[3].Capped || !rep.Trials[4].Capped || rep.Trials[5].Capped {
		t.Fatalf("trials %+v", rep.Trials[:6])
	}
	if tr := rep.Trials[10]; tr.Trades != 10 || tr.MaxDrawdown != 0.2 || tr.Sharpe != 1.5 || tr.Point[0] != st.Trials[10].Point[0] {
		t.Errorf("trial 11: %+v", tr)
	}
	want := Importance(dims, st.Trials)
	if len(rep.Importance) != len(want) || rep.Importance[0].Name != want[0].Name || rep.Importance[0].Name != "a" {
		t.Errorf("importance %+v, want %+v", rep.Importance, want)
	}
	if o := rep.Overfitting; o.Ranked != 20 || o.DSR != 0.4 || o.PBO != 0.6 || o.Verdict != of.Verdict || o.Trials != 58 {
		t.Errorf("overfitting %+v", o)
	}
}
