// Package metrics turns a result (a backtest's, or any finished set of
// trades) into the figures users judge a strategy by: Freqtrade's metrics
// with Freqtrade's formulas (so results compare with what users know), and
// beside them the sound versions computed from the daily mark-to-market
// equity curve.
package metrics

// Report is every metric of one backtest.
type Report struct {
	Summary       Summary `json:"metrics"`
	PerPair       []Group `json:"results_per_pair"`
	PerExitReason []Group `json:"exit_reason_summary"`
	PerEnterTag   []Group `json:"results_per_enter_tag"`
	Daily         []Day   `json:"daily_profit"`
}

// Summary holds the headline metrics. Ratios are fractions (0.05 = 5%).
// Times are Unix milliseconds; durations are minutes.
type Summary struct {
	BacktestStart   int64   `json:"backtest_start_ts"`
	BacktestEnd     int64   `json:"backtest_end_ts"`
	BacktestDays    int     `json:"backtest_days"`
	StartingBalance float64 `json:"starting_balance"`
	FinalBalance    float64 `json:"final_balance"`

	TotalTrades  int     `json:"total_trades"`
	TradesPerDay float64 `json:"trades_per_day"`
	Wins         int     `json:"wins"`
	Draws        int     `json:"draws"`
	Losses       int     `json:"losses"`
	Winrate      float64 `json:"winrate"`

	ProfitMean     float64 `json:"profit_mean"`   // mean profit_ratio per trade
	ProfitMedian   float64 `json:"profit_median"` // median profit_ratio per trade
	ProfitTotal    float64 `json:"profit_total"`  // sum(profit_abs) / starting balance
	ProfitTotalAbs float64 `json:"profit_total_abs"`
	MarketChange   float64 `json:"market_change"` // mean over pairs of last close / first close - 1

	// Freqtrade's formulas (per-trade, closed-trade-only).
	CAGR               float64 `json:"cagr"`
	Sharpe             float64 `json:"sharpe"`
	Sortino            float64 `json:"sortino"`
	Calmar             float64 `json:"calmar"`
	ProfitFactor       float64 `json:"profit_factor"`
	Expectancy         float64 `json:"expectancy"`
	ExpectancyRatio    float64 `json:"expectancy_ratio"`
	SQN                float64 `json:"sqn"`
	MaxDrawdownAccount float64 `json:"max_drawdown_account"`
	MaxDrawdownAbs     float64 `json:"max_drawdown_abs"`
	DrawdownStart      int64   `json:"drawdown_start_ts"`
	DrawdownEnd        int64   `json:"drawdown_end_ts"`

	// Sound versions: daily mark-to-market equity returns, drawdown
	// including open positions.
	SharpeDaily          float64 `json:"sharpe_daily_equity"`
	SortinoDaily         float64 `json:"sortino_daily_equity"`
	CalmarEquity         float64 `json:"calmar_equity"`
	VolatilityAnnual     float64 `json:"volatility_annual"`
	MaxDrawdownEquity    float64 `json:"max_drawdown_equity"`
	MaxDrawdownEquityAbs float64 `json:"max_drawdown_equity_abs"`
	DrawdownEquityStart  int64   `json:"drawdown_equity_start_ts"`
	DrawdownEquityEnd    int64   `json:"drawdown_equity_end_ts"`

	// Freqtrade's trade and day statistics: stakes, the volume of the
	// entry and exit orders, the closed trades' profit per UTC day (from
	// the first to the last day a trade closed, days without one counting
	// as draws), and the lowest and highest balance after a closed trade.
	AvgStake    float64 `json:"avg_stake_amount"`
	TotalVolume float64 `json:"total_volume"`
	BestDay     float64 `json:"backtest_best_day"` // sum of the day's profit_ratio
	WorstDay    float64 `json:"backtest_worst_day"`
	BestDayAbs  float64 `json:"backtest_best_day_abs"`
	WorstDayAbs float64 `json:"backtest_worst_day_abs"`
	WinningDays int     `json:"winning_days"`
	DrawDays    int     `json:"draw_days"`
	LosingDays  int     `json:"losing_days"`
	MinBalance  float64 `json:"csum_min"`
	MaxBalance  float64 `json:"csum_max"`

	// Exposure is the time in market: the share of the backtest (first to
	// last candle) with at least one trade open.
	Exposure float64 `json:"exposure"`

	HoldingAvg           float64 `json:"holding_avg_minutes"`
	WinnerHoldingAvg     float64 `json:"winner_holding_avg_minutes"`
	LoserHoldingAvg      float64 `json:"loser_holding_avg_minutes"`
	BestTrade            float64 `json:"best_trade_ratio"`
	WorstTrade           float64 `json:"worst_trade_ratio"`
	BestPair             string  `json:"best_pair"`
	WorstPair            string  `json:"worst_pair"`
	MaxConsecutiveWins   int     `json:"max_consecutive_wins"`
	MaxConsecutiveLosses int     `json:"max_consecutive_losses"`
}

// Group summarises the trades sharing one key (a pair, an exit reason or an
// enter tag). The last row of each breakdown has Key "TOTAL".
type Group struct {
	Key            string  `json:"key"`
	Trades         int     `json:"trades"`
	ProfitMean     float64 `json:"profit_mean"`
	ProfitTotal    float64 `json:"profit_total"` // profit_abs / starting balance
	ProfitTotalAbs float64 `json:"profit_total_abs"`
	Wins           int     `json:"wins"`
	Draws          int     `json:"draws"`
	Losses         int     `json:"losses"`
	Winrate        float64 `json:"winrate"`
	DurationAvg    float64 `json:"duration_avg_minutes"`
}

// Day is one UTC day of the equity curve.
type Day struct {
	Date      string  `json:"date"`       // YYYY-MM-DD
	Equity    float64 `json:"equity"`     // mark-to-market at the day's last candle close
	Return    float64 `json:"return"`     // equity / previous day's equity - 1 (first day: vs starting balance)
	ProfitAbs float64 `json:"profit_abs"` // realised profit of trades closed that day
	Trades    int     `json:"trades"`     // trades closed that day
}
