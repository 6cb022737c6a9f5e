package trade

// ExitReason names why a trade closed, using Freqtrade's names.
type ExitReason string

// Exit reasons.
const (
	ExitROI          ExitReason = "roi"
	ExitStopLoss     ExitReason = "stop_loss"
	ExitTrailingStop ExitReason = "trailing_stop_loss"
	ExitSignal       ExitReason = "exit_signal"
	ExitForce        ExitReason = "force_exit"
	ExitLiquidation  ExitReason = "liquidation"
)

// Trade is one round trip on one pair. While open, CloseTime is 0 and the
// close fields are unset. Times are Unix milliseconds, UTC.
type Trade struct {
	Pair     string
	IsShort  bool
	Leverage float64
	EnterTag string

	OpenTime  int64
	OpenRate  float64
	Amount    float64 // base-currency quantity
	Stake     float64 // margin put up in the stake currency
	FeeOpen   float64 // fee ratio paid on entry
	FeeClose  float64 // fee ratio paid on exit
	CloseTime int64
	CloseRate float64

	ProfitRatio float64 // profit relative to Stake, after fees (scaled by leverage)
	ProfitAbs   float64 // profit in the stake currency, after fees
	ExitReason  ExitReason

	// Stop-loss state, Freqtrade's: the current stop price, the stop price
	// set at entry, and the liquidation price (0 when not applicable).
	StopLoss         float64
	InitialStopLoss  float64
	LiquidationPrice float64
	MaxRate, MinRate float64 // extreme prices seen while open

	stopLossPct float64 // the ratio the current stop was set from
}

// DurationMinutes returns the trade's length in whole minutes.
func (t *Trade) DurationMinutes() int64 { return (t.CloseTime - t.OpenTime) / 60_000 }
