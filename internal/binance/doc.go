// Package binance is Binance's REST protocol as both sides speak it: the
// client core that TradAI's downloader (internal/download) and exchange
// adapter (internal/exchange/binance) send their requests through, and the
// rules the simulator (internal/sim/binanceapi) checks requests against.
//
//   - [Sign] and [Verify]: the HMAC-SHA256 request signature.
//   - [Client]: requests to one base URL with an optional API key and
//     secret; the request-weight budget per minute (its own count and the
//     X-MBX-USED-WEIGHT-1M header), HTTP 429 waited out (Retry-After) and
//     retried, HTTP 418 (an IP ban) stopped at once with the ban's end and
//     no request sent until then, a -1021 (timestamp outside recvWindow)
//     sent again once on the server's clock (/api/v3/time), server and
//     connection errors and undecodable answers retried with back-off for
//     GET requests only; Binance's error bodies decoded into one
//     [*APIError].
//   - [Quota]: the weight, pause and ban Binance keeps per IP, shared by
//     the clients of one API and IP.
//   - [DecodeKlines]: the klines answer, row by row, without converting the
//     numbers (callers parse them as floats or exact decimals).
//   - [Symbol] and [Pair]: a pair ("BTC/USDT", "BTC/USDT:USDT") to Binance's
//     symbol ("BTCUSDT") and back.
//
// All waiting goes through a clock.Clock, so tests run without sleeping.
package binance
