// Package download fetches candles from an exchange's public kline endpoint
// into the market data store.
//
// A [Source] fetches one page of candles of a series (one implementation:
// [Binance], spot and USDⓈ-M futures, with request-weight limiting and
// retries). A [Downloader] drives a source for whole ranges: it works out
// what the store is missing at either end of the requested range (resume),
// pages through it, keeps only closed candles, and appends to the store in
// chunks, flushing what it has when it is interrupted so that a later run
// continues where this one stopped. [Downloader.Fill] downloads explicit
// ranges such as the gaps of a series.
//
// All waiting (rate limits, retry back-off) goes through a [clock.Clock],
// so tests run without sleeping.
package download
