package backtest

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// Run backtests strat with cfg, in the stages a caller that runs many
// parameter sets uses one by one: [NewPlan], [Load] from the data
// directory's store, [Data.Prepare] with the config's strategy_params and
// [Prepared.Simulate] with the config's trading settings. Run is
// RunClosing without a hook.
func Run(ctx context.Context, cfg *config.Config, strat sdk.Strategy, log *slog.Logger) (*result.Result, error) {
	return RunClosing(ctx, cfg, strat, log, nil)
}

// RunClosing is Run calling closed, when not nil, with each trade as it
// closes (see [Settings.Closed]).
func RunClosing(ctx context.Context, cfg *config.Config, strat sdk.Strategy, log *slog.Logger, closed func(*trade.Trade)) (_ *result.Result, err error) {
	spec := strat.Spec()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	params, err := spec.Resolve(cfg.StrategyParams)
	if err != nil {
		return nil, fmt.Errorf("strategy_params: %w", err)
	}
	settings, err := ConfigSettings(cfg, spec)
	if err != nil {
		return nil, err
	}
	plan, err := NewPlan(cfg, spec)
	if err != nil {
		return nil, err
	}
	if spec.CanShort && !settings.Rules.Futures {
		log.Info("short signals are ignored in spot mode; set trading_mode to futures to trade them", "strategy", spec.Name)
	}
	store, err := market.Open(cfg.Datadir, log)
	if err != nil {
		return nil, err
	}
	data, err := Load(ctx, store, plan, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := data.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	prep, err := data.Prepare(ctx, strat, params)
	if err != nil {
		return nil, err
	}
	settings.ScanAhead = true // the backtest has the machine to itself
	settings.Closed = closed
	return prep.Simulate(ctx, settings)
}

// ConfigSettings returns the simulation settings of a backtest of cfg with
// a strategy declaring spec: [config.Config.Trading]'s rules and account,
// short entries in futures mode when the strategy can short, and the
// config's fill model. An optimiser changes the rules' Risk per trial.
func ConfigSettings(cfg *config.Config, spec sdk.Spec) (Settings, error) {
	rules, acct, err := cfg.Trading(spec)
	if err != nil {
		return Settings{}, err
	}
	settings := NewSettings(rules, acct, rules.Futures && spec.CanShort)
	if settings.Fill, err = cfg.Fill(); err != nil {
		return Settings{}, err
	}
	return settings, nil
}
