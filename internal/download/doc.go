// Package download fetches candles from exchanges' public kline endpoints
// into the market data store.
package download

import _ "github.com/schollz/progressbar/v3"
