// Package optimize is the study engine of hyperopt: it searches a
// strategy's parameters and Freqtrade's roi, stoploss and trailing spaces
// for the set that minimises a loss function over a backtest.
//
// A study loads the candles once (backtest.Load, read-only, shared by
// every trial), then per trial asks its sampler (internal/optimize/sample)
// for a point, decodes it into strategy parameters and risk settings
// ([Space.Decode]), prepares the signals of the parameters (cached by the
// parameters, so a trial changing only roi, stoploss or trailing reuses
// them), simulates with the risk settings, and tells the sampler the loss
// ([Loss]: Freqtrade's loss functions, or a weighted sum of metrics).
// Trials run in parallel; the sampler is asked and told by one goroutine,
// the tells in trial order, so a seed reproduces a study. Only the best
// trials keep their whole result; every trial keeps a summary.
//
// The best parameters are exported as Freqtrade's strategy parameter file
// ([ParamsFile]), which a backtest reads back.
package optimize
