package runner

import (
	"context"
	"errors"
	"time"

	"github.com/tradai/tradai/internal/exchange"
)

// FillStreamer is a venue that streams the account's fills (an optional
// capability of the Exchange: test with a type assertion). Binance's
// adapter has it over the user data stream, Alpaca's over trade updates,
// Hyperliquid's over userFills.
type FillStreamer interface {
	// StreamFills calls fn with each new fill of the account until ctx
	// ends (ctx's error) or the stream drops (the error that ended it).
	// fn must not block.
	StreamFills(ctx context.Context, fn func(exchange.Trade)) error
}

// followFills follows the venue's fill stream and sends on filled the
// venue id of each order that filled (a fill that finds filled full is
// dropped: the candle close reconciles it). A dropped stream is
// reconnected after RetryWait, doubling up to a minute.
func (r *Runner) followFills(ctx context.Context, fs FillStreamer, filled chan<- int64) {
	wait := r.cfg.RetryWait
	for {
		err := fs.StreamFills(ctx, func(t exchange.Trade) {
			wait = r.cfg.RetryWait
			select {
			case filled <- t.OrderID:
			default:
			}
		})
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("the venue's fill stream dropped: fills are read at the candle closes until it is back", "err", err, "retry_in", wait)
		if r.clk.Sleep(ctx, wait) != nil {
			return
		}
		wait = min(2*wait, time.Minute)
	}
}

// filled acts on a streamed fill of the venue's order orderID, without
// waiting for the close, as a candle close would: a trade's resting exit
// is settled (settleRest: the venue is asked, an order that ended closes
// the trade); a limit entry that ended opens its trade (entryState; its
// exit is rested at the next close, as after an entry at a close). Both
// record under the lease. An order still open (a partial fill) waits.
func (r *Runner) filled(ctx context.Context, orderID int64) error {
	for _, ps := range r.held {
		if rest := ps.open.rest; rest != nil && rest.VenueID == orderID {
			return r.settleRest(ctx, ps)
		}
	}
	for _, ps := range r.pairs {
		pe := ps.entry
		if pe == nil || pe.rec.VenueID != orderID {
			continue
		}
		o, err := r.lookup(ctx, ps, pe.rec.ClientOrderID)
		if errors.Is(err, exchange.ErrUnknownOrder) {
			return nil // the close settles it
		}
		if err != nil || o.Status.Open() {
			return err
		}
		return r.entryState(ctx, ps, pe.rec, o, pe.at)
	}
	return nil
}
