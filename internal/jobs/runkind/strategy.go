package runkind

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/sdk"
)

// Worker is what a worker process gives a run's strategy: the market data
// folder its config reads, the options that open strategies, the registry
// of a run's tenant (nil: none), and whether programs named by a path may
// run.
type Worker struct {
	DataDir       string
	Strategies    strategyref.Options
	Registry      func(tenant string) strategyref.Resolver
	AllowExternal bool
}

// OpenStrategy reads run r's config as worker w runs it (w's data folder;
// what names the run in errors, e.g. "run" or "study") and opens its
// strategy: the registry version the run recorded (strategyref.ForRun),
// with the run's strategy parameters over the config's. The caller closes
// the strategy with the returned func.
func OpenStrategy(ctx context.Context, r runs.Run, what string, w Worker) (*config.Config, sdk.Strategy, func() error, error) {
	c, err := config.Parse(r.Spec.Config, "of "+what+" "+r.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	c.Datadir = w.DataDir
	ref, opts, err := strategyref.ForRun(r.Spec.Strategy, r.Spec.StrategyVersion, r.Tenant, w.Strategies, w.Registry, w.AllowExternal)
	if err != nil {
		return nil, nil, nil, err
	}
	c.Strategy = ref
	if len(r.Spec.Params) > 0 && string(r.Spec.Params) != "{}" {
		if err := json.Unmarshal(r.Spec.Params, &c.StrategyParams); err != nil {
			return nil, nil, nil, fmt.Errorf("strategy parameters: %w", err)
		}
	}
	st, closeFn, err := strategyref.Open(ctx, c.Strategy, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, st, closeFn, nil
}
