// Package report renders a finished backtest for people and programs:
//
//   - [Files.WriteJSON]: a JSON export whose trades use Freqtrade's field
//     names,
//   - [WriteSummary]: a terminal summary in the spirit of Freqtrade's
//     backtest tables,
//   - [Files.WriteHTML]: a self-contained single-file HTML report with
//     inline SVG charts, no network access needed to view it,
//   - [WriteStudyHTML], [WriteWalkForwardHTML] and [WriteWalkForwardJSON]:
//     an optimisation's study and a walk-forward analysis, in the same style.
//
// Every backtest writer takes the raw result.Result and the metrics.Report computed
// from it ([NewFiles] a function that returns them, which may wait for them), and produces byte-identical output for equal inputs: no clocks,
// no map iteration order, no randomness. Non-finite numbers never reach the
// output: Files.WriteJSON returns an error naming the offending field, and the
// human-readable writers print "n/a" (or ∞) instead.
package report
