// Package drift says whether a deployment trades as its backtest did: it
// compares the live distribution of three features — trade returns
// (profit ratio after fees), holding times (minutes) and signal frequency
// (entries per pair and candle, in windows of [Window] candles) — with
// the same features of the reference backtest, by the population
// stability index (bins from the reference's quantiles) and the two-sample
// Kolmogorov–Smirnov test, and sums it up as a score (1: at a threshold)
// and a verdict in words.
//
// It is pure: it reads trade records and numbers, never a store or a
// clock; the platform feeds it a deployment's trades and the trades of a
// backtest of the same version.
package drift
