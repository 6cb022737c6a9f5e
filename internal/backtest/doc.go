// Package backtest runs a strategy over stored candles in stages, each
// usable alone: NewPlan (which candles a backtest of a config reads), Load
// (reads them once through a Loader), Data.Prepare (one parameter set's
// signals per pair) and Prepared.Simulate (the trade core over the candles
// in time order, into a result.Result). Run composes them.
package backtest
