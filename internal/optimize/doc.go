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
// trials keep their whole result; every trial keeps a summary. What the
// overfitting figures need ([Study.Overfitting]: the deflated Sharpe ratio
// and the PBO of package overfit) is kept bounded: the daily returns of
// the best trials and of a uniform sample of all of them.
//
// A walk-forward ([RunWalkForward]) runs a study per [Window] on a view of
// the data loaded once, backtests each window's best parameters on the
// window's test range and [Stitch]es the tests into one result.
//
// The best parameters are exported as Freqtrade's strategy parameter file
// ([ParamsFile]), which a backtest reads back.
package optimize
