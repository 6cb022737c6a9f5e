package config

import (
	"fmt"

	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// TimeframeFor is the timeframe a strategy with spec trades on under this
// config: the config's, else the strategy's.
func (c *Config) TimeframeFor(spec sdk.Spec) sdk.Timeframe {
	if c.Timeframe != "" {
		return c.Timeframe
	}
	return spec.Timeframe
}

// TimeframeNote says which timeframe wins when the config and the strategy
// both name one and they differ (the config's, as in Freqtrade), and how to
// get the other; "" when they agree or only one names a timeframe.
func (c *Config) TimeframeNote(spec sdk.Spec) string {
	if c.Timeframe == "" || spec.Timeframe == "" || c.Timeframe == spec.Timeframe {
		return ""
	}
	return fmt.Sprintf("the config's timeframe %s overrides the strategy's %s (as in Freqtrade); drop \"timeframe\" from the config to trade on %s",
		c.Timeframe, spec.Timeframe, spec.Timeframe)
}

// Trading returns what the config says about trading a strategy with spec,
// as the trade core takes it: the trade rules (the strategy's risk settings
// overridden by the config's, exit settings, fee, slippage, leverage, the
// timeframe) and the portfolio's account (wallet, stake, tradable balance
// ratio, max_open_trades). Every runner builds its trade core from here, so
// one config means the same trading to each.
func (c *Config) Trading(spec sdk.Spec) (trade.Rules, trade.Account, error) {
	risk := c.Risk(spec.Risk)
	if err := risk.Validate(); err != nil {
		return trade.Rules{}, trade.Account{}, fmt.Errorf("risk settings: %w", err)
	}
	rules := trade.Rules{
		Risk:                   risk,
		UseExitSignal:          c.UseExitSignal,
		ExitProfitOnly:         c.ExitProfitOnly,
		ExitProfitOffset:       c.ExitProfitOffset,
		IgnoreROIIfEntrySignal: c.IgnoreROIIfEntrySignal,
		Fee:                    c.Fee,
		Slippage:               c.Slippage,
		Leverage:               c.Leverage,
		Futures:                c.TradingMode == "futures",
		Liquidation:            c.Liquidation(),
		TimeframeMinutes:       c.TimeframeFor(spec).Minutes(),
	}
	acct := trade.Account{
		StartingBalance:      c.DryRunWallet,
		StakeAmount:          c.StakeAmount,
		TradableBalanceRatio: c.TradableBalanceRatio,
		MaxOpenTrades:        c.MaxOpenTrades,
	}
	if c.StakeUnlimited {
		acct.StakeAmount = 0
	}
	return rules, acct, nil
}

// Fill returns the backtest fill model the config names (fill_model).
func (c *Config) Fill() (trade.FillModel, error) {
	m, err := trade.FillModelNamed(c.FillModel)
	if err != nil {
		return nil, fmt.Errorf("fill_model: %w", err)
	}
	return m, nil
}

// Liquidation returns how the config places liquidation prices: Binance's
// bundled leverage brackets, those of leverage_brackets in their place for
// the pairs it names, and liquidation_buffer.
func (c *Config) Liquidation() trade.Liquidation {
	brackets := trade.BinanceBrackets()
	for pair, bs := range c.LeverageBrackets {
		brackets[trade.BracketKey(pair)] = bs
	}
	return trade.Liquidation{Brackets: brackets, Buffer: c.LiquidationBuffer}
}
