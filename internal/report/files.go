package report

import (
	"sync"

	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/result"
)

// Files writes the files of one backtest, its export (WriteJSON) and its
// report (WriteHTML), side by side if need be: what both write of each
// trade is made once, by the first to need it, and the metrics are asked
// for (once, through metrics) only where they are needed, so that the
// files may begin while they are still being computed.
type Files struct {
	res     *result.Result
	metrics func() metrics.Report
	numbers func() []numberChunk
	spooled func() *spool // the export's trade list, made as the trades closed; nil if not
}

// NewFiles returns the files of res; metrics returns res's metrics (it
// may wait for them), and is called at most once. early, when not nil,
// is the EarlyTrades that the backtest of res fed: the files use what it
// made of the trades (the texts of their numbers, the export's trade
// list); its owner closes it once the files are written.
func NewFiles(res *result.Result, metrics func() metrics.Report, early *EarlyTrades) *Files {
	f := &Files{res: res, metrics: sync.OnceValue(metrics)}
	f.spooled = sync.OnceValue(func() *spool {
		if res == nil {
			return nil
		}
		return early.spooled(res.Trades)
	})
	f.numbers = sync.OnceValue(func() []numberChunk {
		if res == nil {
			return nil
		}
		if made := early.numbersOf(res.Trades); made != nil {
			return made
		}
		return tradeNumbers(res.Trades)
	})
	return f
}
