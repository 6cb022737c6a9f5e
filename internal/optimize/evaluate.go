package optimize

import (
	"context"
	"errors"
	"runtime"

	"github.com/tradai/tradai/internal/clock"
)

// Evaluator runs single trials of a study whose sampler is asked and told
// elsewhere (a study shared by many workers through a database,
// internal/study): the ask/tell seam of the study loop. Run uses the same
// trial code; an Evaluator is safe for concurrent use and keeps the
// prepared signals of the last few parameter sets, as Run does.
type Evaluator struct {
	r *runner
}

// NewEvaluator returns an Evaluator of o's Strategy, Data, Settings,
// Params, Space, Loss and MinTrades (Sampler, Epochs, Jobs, Keep and
// OnTrial are not used). cacheSize is how many parameter sets' signals
// are kept (at least 1).
func NewEvaluator(o Options, cacheSize int) (*Evaluator, error) {
	if o.Strategy == nil || o.Data == nil || o.Space == nil || o.Loss.fn == nil {
		return nil, errors.New("optimize: Strategy, Data, Space and Loss are required")
	}
	if o.MinTrades <= 0 {
		o.MinTrades = 1
	}
	return &Evaluator{r: newRunner(o, clock.Or(o.Clock), max(cacheSize, 1), runtime.GOMAXPROCS(0))}, nil
}

// Trial runs trial number (from 1) at x and returns its summary, decoded
// point and daily returns (what the overfitting figures read of it: see
// DailySharpe and RestoreStudy). A trial the strategy fails is returned with its error in
// Trial.Err and a nil error; the error is ctx's when ctx ended during the
// trial (the trial did not run to its end and must not be recorded).
func (e *Evaluator) Trial(ctx context.Context, number int, x []float64) (Trial, Point, []float64, error) {
	oc := e.r.trial(ctx, number-1, x)
	// Nothing of the result is returned: its memory goes to the next trial.
	e.r.recycle(oc.res)
	if oc.canceled {
		return oc.trial, oc.point, nil, ctx.Err()
	}
	return oc.trial, oc.point, oc.returns, nil
}
