package sim

import (
	"fmt"

	"github.com/tradai/tradai/internal/fixed"
)

// SetMarket makes candle c the symbol's current candle and p its last
// price without moving through the prices between: no order is matched.
// A feed calls it when it starts at a point of the market that was already
// played (a restart in the middle of a candle, a replay starting at a
// date), so orders see only the prices that follow.
func (e *Engine) SetMarket(symbol string, c Candle, p fixed.Dec) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.books[symbol]
	if !ok {
		return fmt.Errorf("set market: unknown symbol %s", symbol)
	}
	if p <= 0 {
		return fmt.Errorf("set market of %s: price %v is not positive", symbol, p)
	}
	e.startCandle(b, c)
	b.last, b.has = p, true
	return nil
}
