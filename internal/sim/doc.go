// Package sim is the paper exchange's matching core: symbols with
// Binance's filters, accounts with free and locked balances, orders of
// every Binance spot type, and fills against replayed market data. It is
// pure and in-process (no I/O, no clock: every change takes its time as an
// argument), so the REST server, the persistence layer, the runners and the
// tests all drive the same engine.
//
// # Market model
//
// There is no order book of other traders: each order trades against the
// market, which is a last price moved by market data. The bid and ask are
// the last price less and plus half of Config.Spread; taker fills happen a
// further Config.Slippage away, against the taker, on the tick grid.
//
//   - MARKET orders fill at once at the taker price (quantity, or
//     quoteOrderQty converted at that price and rounded down to the step).
//   - A LIMIT order that is marketable when placed (a buy at or above the
//     ask, a sell at or below the bid) takes at the taker price, never
//     beyond its limit. What is left rests (GTC) or expires (IOC); FOK
//     fills entirely or expires. LIMIT_MAKER is rejected when it would take.
//   - A resting limit order fills, as a maker, at its own limit price when
//     the price path reaches it (a buy when the path goes down to its price,
//     a sell when it goes up to it) — also across a gap.
//   - Stop orders wait for their stop price: STOP_LOSS(_LIMIT) sells and
//     TAKE_PROFIT(_LIMIT) buys trigger at or below it, STOP_LOSS(_LIMIT)
//     buys and TAKE_PROFIT(_LIMIT) sells at or above it. On a continuous
//     move the trigger price is the stop price; on a gap (a candle opening
//     beyond it) it is the open. STOP_LOSS and TAKE_PROFIT then execute as
//     MARKET orders from the trigger price; the _LIMIT kinds become limit
//     orders. A stop that would trigger at once is rejected.
//   - A stop with a trailing delta (OrderRequest.TrailingDelta, BIPS) is
//     Binance's trailing stop: it starts tracking when the price meets its
//     stop price (from the stop price) or at once without one (from the
//     last price), and triggers when the price falls the delta from the
//     highest price since (sells) or rises it from the lowest (buys), at
//     that stop floored (raised) to the tick; a gap triggers at the open.
//     The TRAILING_DELTA filter bounds the delta.
//
// A candle is replayed as a jump to its open, then a continuous move to
// its low, its high and its close — the low before the high, the same
// assumption as the backtest engine (internal/trade); a trailing stop
// meets it in the backtest's own order for trailing stops, the high moving
// its stop before the low reaches it (see Engine.trail). With
// Config.VolumeShare set, one order fills at most that share of each
// candle's volume; the rest waits for the next candle.
//
// # Money
//
// Amounts are fixed.Dec (8 decimals, exact). A buy locks price × quantity
// of the quote asset rounded up (stop-market buys: stop price × quantity);
// a sell locks the quantity. Each fill's quote amount is the exact running
// sum of price × quantity rounded up for buys and down for sells, less the
// same rounding of the previous sum, so the sum of the fills' amounts is
// the rounded exact total. Fees are charged once per fill in the asset the
// fill gives (base on buys, quote on sells), rounded half up: maker fee for
// resting fills, taker fee otherwise. Balances never go negative.
//
// # Errors
//
// Rejections are *Error values with Binance's codes and messages
// (-1013 "Filter failure: LOT_SIZE", -2010 "Account has insufficient
// balance for requested action.", …), so the REST layer returns them as
// they are.
package sim
