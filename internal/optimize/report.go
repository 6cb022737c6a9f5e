package optimize

import (
	"github.com/tradai/tradai/internal/optimize/sample"
	"github.com/tradai/tradai/internal/report"
)

// FillStudyReport puts a study's trials, the importance of its dimensions
// and its overfitting figures into rep, which names the study's settings.
func FillStudyReport(rep *report.StudyReport, st *Study, dims sample.Space, of Overfitting) {
	rep.Dims, rep.Failed = dims, st.Failed
	rep.Trials = make([]report.StudyTrial, len(st.Trials))
	for i := range st.Trials {
		t := &st.Trials[i]
		rep.Trials[i] = report.StudyTrial{Number: t.Number, Point: t.Point, Loss: t.Loss, Failed: t.Failed(),
			Capped: !t.Failed() && t.Loss == MaxLoss, Trades: t.Figures.Trades, ProfitTotal: t.Figures.ProfitTotal,
			MaxDrawdown: t.Figures.MaxDrawdownAccount, Sharpe: t.Figures.Sharpe}
	}
	rep.Importance = nil
	for _, p := range Importance(dims, st.Trials) {
		rep.Importance = append(rep.Importance, report.StudyImportance{Name: p.Name, Share: p.Share, Chance: p.Chance, Bins: p.Bins})
	}
	rep.Overfitting = report.StudyOverfitting{Trials: of.Trials, Periods: of.Periods, SharpeVariance: of.SharpeVariance, Best: of.Best,
		DSR: of.DSR, Deflated: of.Deflated, PBO: of.PBO, Ranked: len(of.Kept), CSCV: of.CSCV, Verdict: of.Verdict, Notes: of.Notes}
}

// FillWalkForwardReport puts a walk-forward analysis's windows and
// stitched out-of-sample result into rep, which names its settings.
func FillWalkForwardReport(rep *report.WalkForwardReport, wf *WalkForward) {
	rep.OOS, rep.OOSMetrics, rep.Efficiency = wf.OOS, wf.OOSMetrics, wf.Efficiency
	rep.Windows = make([]report.WalkWindow, len(wf.Windows))
	for i, w := range wf.Windows {
		rep.Windows[i] = report.WalkWindow{Index: w.Index, TrainStart: w.Train.Start, TrainEnd: w.Train.End,
			TestStart: w.Test.Start, TestEnd: w.Test.End, Trials: w.Trials, BestTrial: w.Best.Trial.Number,
			Params: w.Best.Result.Params, Risk: w.Best.Point.Risk, InSample: w.Best.Metrics.Summary, OutOfSample: w.OOSMetrics.Summary,
			Efficiency: w.Efficiency, DSR: w.Overfitting.DSR, PBO: w.Overfitting.PBO, Verdict: w.Overfitting.Verdict}
	}
}
