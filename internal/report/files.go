package report

import (
	"sync"

	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/result"
)

// Files writes the files of one backtest, its export (WriteJSON) and its
// report (WriteHTML), side by side if need be: the metrics are asked for
// (once, through metrics) only where they are needed, so that the files
// may begin on the trades while they are still being computed.
type Files struct {
	res     *result.Result
	metrics func() metrics.Report
	early   *EarlyTrades
	// spooled is the spool of the export's first trades, made as they
	// closed, and how many it holds; nil and 0 when none.
	spooled func() (*spool, int)
}

// NewFiles returns the files of res; metrics returns res's metrics (it
// may wait for them), and is called at most once. early, when not nil,
// is the EarlyTrades that the backtest of res fed: the export uses the
// trade list it spooled when those are the result's first trades and
// makes the rest; its owner closes it once the files are written.
func NewFiles(res *result.Result, metrics func() metrics.Report, early *EarlyTrades) *Files {
	early.stopTaking() // the run is over: the cores are the files'
	f := &Files{res: res, metrics: sync.OnceValue(metrics), early: early}
	f.spooled = sync.OnceValues(func() (*spool, int) {
		if res == nil {
			return nil, 0
		}
		return early.spooled(res.Trades)
	})
	return f
}
