// Package runner trades one deployment (internal/deploy) on its venue
// through the trade core — the same trade.Policy and trade.Portfolio the
// backtester runs — on closed candles.
//
// A Runner is given the deployment's lease, its exchange.Exchange, its
// sdk.Strategy and the trade rules and account that config.Trading makes of
// its config. Start restores the deployment's trades from the store,
// reconciles every order whose fate the store does not know with the venue
// (looked up by its client order id: the venue is the truth) and loads
// warm-up candles from the venue. Step acts on the candles closed by a
// time: Run calls it at each candle close on the injected clock (a replay
// clock drives it faster than real time; tests call Step directly).
//
// Once an entry filled, the trade's exit rests on the venue as one order:
// a STOP_LOSS sell at its stop (where the venue takes them) or a limit
// sell at its ROI trigger, whichever is nearer to the price; the runner
// manages the other at candle closes, and replaces the resting order
// (lease checked, cancelled, placed with the next attempt's client order
// id) when the stop or the ROI step moves. A trailing stop rests as the
// venue's trailing stop where the venue takes them (Binance's
// trailingDelta): a STOP_LOSS sell tracking from the trade's highest price
// by the distance in force, which follows the high inside the candle as
// the backtest's stop does and is not replaced while that distance holds;
// or, while trailing_stop_positive's offset is ahead and nearer than the
// stop, a TAKE_PROFIT sell activated at the offset's price trailing by the
// positive distance (resting.go says how and why). Elsewhere the stop is
// moved at candle closes. A fill of the resting exit closes the trade
// inside its candle, as the backtest fills it.
//
// At the close of candle k (the open of candle k+1), for the pairs holding
// a trade, in the order the trades opened, the runner first asks the venue
// about the resting exit; then the policy looks at candle k's prices with
// the signals before it, as the backtest does for candle k (for the exit
// not resting, and a trailing stop the venue did not move inside the
// candle: the runner exits at the market now, one candle after a
// backtest); then at the price
// now with candle k's signals (an exit signal, or a stop or ROI already
// passed at the open, exits now, where the backtest exits too). Then the
// pairs without a trade, in the deployment's order, are offered an entry
// on candle k's signals. A stop with flatten closes every trade at the
// market and stops the deployment (ErrStopped). docs/deployments.md lists
// where a deployment and its backtest differ, and why.
//
// Every order is recorded (pending) before it is sent, with a
// deterministic client order id (deploy.ClientOrderID); its outcome, its
// fills and the trade they open or close are recorded in one transaction
// before the next action. A placement whose outcome is unknown (a timeout,
// a 5xx, ErrUnknownStatus) is looked up by its client order id, never sent
// blindly again; a rate limit is waited out on the clock. Every write
// checks the lease: a runner whose deployment another runner took over
// stops with deploy.ErrFenced.
//
// A Host is a runner process's hold on many deployments: it acquires
// leases, runs a Job per deployment (the platform's: open the strategy
// and the venue, build a Runner, Run it), restarts a failed job with
// backoff, renews the leases every heartbeat and stops a job whose lease
// it lost.
package runner
