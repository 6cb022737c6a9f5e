package apitype

import "time"

// DeploymentRequest is a deployment to create: a strategy version trading
// continuously on a venue.
type DeploymentRequest struct {
	Strategy  string         `json:"strategy" minLength:"1" maxLength:"200" doc:"A built-in strategy name, or a registry version: NAME@3, NAME@production, NAME@staging, NAME (the latest); resolved now, the deployment keeps that version" example:"sma_cross"`
	Mode      string         `json:"mode" enum:"paper,live" doc:"paper: the simulator's money; live: one of your stored venue accounts (POST /api/v1/accounts), of the deployment's venue"`
	Venue     string         `json:"venue" minLength:"1" maxLength:"300" doc:"sim (the server's simulator), binance (live), or the base URL of a Binance-compatible API (another simulator on this server's database)" example:"sim"`
	Account   string         `json:"account" minLength:"1" maxLength:"200" doc:"The account of your tenant to trade with, by name or id. Paper: a simulator account (created and funded with the config's dry_run_wallet when a paper deployment names a new one; sac_…). Live: a stored venue account of the deployment's venue (vac_…; a sim account for the simulator)" example:"paper1"`
	Pairs     []string       `json:"pairs" minItems:"1" maxItems:"1000" doc:"Pairs to trade, as the venue lists them" example:"[\"BTC/USDT\"]"`
	Timeframe string         `json:"timeframe" minLength:"1" maxLength:"8" doc:"Candle timeframe the strategy decides on" example:"5m"`
	Config    map[string]any `json:"config,omitempty" doc:"Freqtrade config keys: risk settings (stoploss, minimal_roi, trailing_*), stake_amount, max_open_trades, dry_run_wallet, fee, strategy_params …"`
}

// Deployment is a deployment as the API shows it.
type Deployment struct {
	ID              string          `json:"id"`
	Strategy        string          `json:"strategy"`
	StrategyVersion int             `json:"strategy_version,omitempty" doc:"The registry version it trades; absent for built-ins"`
	CodeSHA256      string          `json:"code_sha256,omitempty"`
	Mode            string          `json:"mode" enum:"paper,live"`
	Venue           string          `json:"venue"`
	Account         string          `json:"account"`
	Pairs           []string        `json:"pairs"`
	Timeframe       string          `json:"timeframe"`
	State           string          `json:"state" enum:"starting,running,paused,stopped,failed"`
	Error           string          `json:"error,omitempty" doc:"Why it failed"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	Runner          string          `json:"runner,omitempty" doc:"The runner holding it now"`
	Flatten         bool            `json:"flatten,omitempty" doc:"A stop with the open positions closed first is asked for: the runner closes them at once, then stops the deployment"`
	StopAsked       bool            `json:"stop_asked,omitempty" doc:"The kill switch (stop-all) asked its runner to cancel its open orders (and flatten, with flatten) and stop: done within about a second"`
	Risk            *DeploymentRisk `json:"risk,omitempty" doc:"The risk state its runner last recorded: the venue's circuit breaker, a loss or drawdown limit that paused it"`
	LastTick        *time.Time      `json:"last_tick,omitempty" doc:"The last candle close the runner acted on"`
	Heartbeat       *time.Time      `json:"heartbeat,omitempty" doc:"The runner's last heartbeat"`
	HeartbeatAge    float64         `json:"heartbeat_age_seconds,omitempty" doc:"Seconds since that heartbeat"`
	// Stale is the missed-heartbeat alert.
	Stale bool `json:"stale" doc:"The missed-heartbeat alert: a deployment that should trade has had no heartbeat for 3 intervals (30 s), or no runner took it within 30 s: its runner is gone or stuck (another runner takes it over), or no runner runs"`
	// Summary is in GET /api/v1/deployments/{id} only.
	Summary *DeploymentSummary `json:"summary,omitempty"`
	// Drift is in GET /api/v1/deployments/{id} only.
	Drift *DeploymentDrift `json:"drift,omitempty" doc:"How far its live trades drifted from the backtest of the same version, config, pairs and timeframe over the config's timerange (or the 30 days before it was created); computed on this request. Absent when the server computes no drift or the reference backtest failed (the server logs why)"`
}

// DeploymentDrift is a deployment's drift: its live trades' returns,
// holding times and signal frequency against its reference backtest's.
type DeploymentDrift struct {
	Score      float64                  `json:"score" doc:"The largest feature score: 1 is at a threshold, above 1 is the drift alarm; 0 before enough live trades"`
	Verdict    string                   `json:"verdict" doc:"The verdict in words"`
	Enough     bool                     `json:"enough" doc:"There were enough closed live trades for a verdict (20 by default)"`
	Drifted    bool                     `json:"drifted" doc:"A feature crossed a threshold"`
	Features   []DeploymentDriftFeature `json:"features"`
	ComputedAt time.Time                `json:"computed_at"`
}

// DeploymentDriftFeature is one compared feature.
type DeploymentDriftFeature struct {
	Name      string  `json:"name" enum:"returns,holding_time,signal_frequency" doc:"returns: profit ratio after fees per closed trade; holding_time: minutes per closed trade; signal_frequency: entries per pair and candle, per window of 24 candles"`
	Live      int     `json:"live" doc:"Live sample size"`
	Reference int     `json:"reference" doc:"Reference backtest sample size"`
	PSI       float64 `json:"psi" doc:"Population stability index of the live sample against the reference's quantile bins (threshold 0.25 by default)"`
	KS        float64 `json:"ks" doc:"Two-sample Kolmogorov–Smirnov statistic"`
	KSP       float64 `json:"ks_p" doc:"Its p-value (drift below 0.01 by default)"`
	Score     float64 `json:"score" doc:"The larger of PSI ÷ its threshold and the KS statistic ÷ its critical value"`
	Drifted   bool    `json:"drifted"`
}

// DeploymentRisk is a deployment's risk state as its runner last
// recorded it.
type DeploymentRisk struct {
	Breaker      string     `json:"breaker,omitempty" enum:"closed,open,half_open" doc:"The venue's circuit breaker: open after 5 venue failures in a row (new orders wait; reads and exits go on), half_open after a minute's cool-down (the next order is a probe)"`
	BreakerSince *time.Time `json:"breaker_since,omitempty" doc:"When the breaker opened"`
	Halted       string     `json:"halted,omitempty" doc:"The loss or drawdown limit that paused the deployment, and by how much (risk_limits.KEY: …); resume it to trade again (paused again while the breach holds)"`
	HaltedAt     *time.Time `json:"halted_at,omitempty"`
}

// StopAllRequest is the body of POST /api/v1/deployments/stop-all: the
// kill switch.
type StopAllRequest struct {
	Flatten  bool     `json:"flatten,omitempty" doc:"Close the open positions at the market before stopping"`
	Platform bool     `json:"platform,omitempty" doc:"Every tenant's deployments: for the server's operators only (403 for others)"`
	Modes    []string `json:"modes,omitempty" maxItems:"2" doc:"The modes stopped (default both: paper and live)" enum:"paper,live"`
}

// StopAllResult is the answer of POST /api/v1/deployments/stop-all.
type StopAllResult struct {
	Asked   []string `json:"asked" doc:"Deployments a runner holds, asked to cancel their open orders (flatten, if asked) and stop: their runners do within about a second (GET each to see it stopped)"`
	Stopped []string `json:"stopped" doc:"Deployments no runner held, stopped at once (with flatten they are asked instead: the next runner to take one flattens it)"`
}

// AccountLimits are the risk limits of one of the tenant's venue
// accounts (PUT and GET /api/v1/deployments/account-limits): every
// deployment on the account trades under the tighter of its own limits
// and these.
type AccountLimits struct {
	Venue      string         `json:"venue" minLength:"1" maxLength:"300" doc:"The venue, as deployments name it (sim, binance, a URL)" example:"sim"`
	Account    string         `json:"account" minLength:"1" maxLength:"200" doc:"The account, as deployments name it" example:"paper1"`
	RiskLimits map[string]any `json:"risk_limits" doc:"risk_limits keys (docs/live.md): max_order_notional, max_daily_loss, …; those left out are the defaults"`
	Usage      *AccountUsage  `json:"usage,omitempty" readOnly:"true" doc:"What every deployment on the account uses of its limits today (UTC): the account's exposure, open orders, orders of the last minute, entries and daily loss are checked on these sums"`
}

// AccountUsage is what every deployment trading on one venue account uses
// of the account's limits on one UTC day, as their runners last recorded
// it.
type AccountUsage struct {
	Day              string             `json:"day" doc:"The UTC day (YYYY-MM-DD)"`
	Deployments      int                `json:"deployments" doc:"Deployments on the account that traded that day"`
	Positions        map[string]float64 `json:"positions" doc:"Open positions and entries waiting to fill of the deployments still trading, their notional by pair"`
	Exposure         float64            `json:"exposure" doc:"The positions' notional added (max_position_notional_total)"`
	OpenOrders       int                `json:"open_orders" doc:"Orders open at the venue (max_open_orders)"`
	OrdersToday      int                `json:"orders_today" doc:"Entries sent that day (max_orders_per_day)"`
	OrdersLastMinute int                `json:"orders_last_minute" doc:"Orders (exits included) sent in the last 60 s (max_orders_per_minute)"`
	Equity           float64            `json:"equity" doc:"The deployments' equity added"`
	DayStart         float64            `json:"day_start" doc:"Their equity at the day's start (or at their start that day), added"`
	DayHigh          float64            `json:"day_high" doc:"The deployments' highs of the day, added (max_drawdown with drawdown_from day)"`
	High             float64            `json:"high" doc:"The deployments' highs since they started, added (max_drawdown from the deployment's high)"`
	DailyLoss        float64            `json:"daily_loss" doc:"1 - equity / day_start: the fraction max_daily_loss bounds (negative: a gain)"`
}

// DeploymentSummary is what a deployment has done.
type DeploymentSummary struct {
	OpenTrades       int           `json:"open_trades"`
	ClosedTrades     int           `json:"closed_trades"`
	StartingBalance  float64       `json:"starting_balance" doc:"The config's dry_run_wallet"`
	Equity           float64       `json:"equity" doc:"Wallet plus open trades at the last equity mark (hourly); the starting balance before the first"`
	EquityAt         *time.Time    `json:"equity_at,omitempty"`
	RealisedProfit   float64       `json:"realised_profit" doc:"Profit of the closed trades, fees included"`
	UnrealisedProfit float64       `json:"unrealised_profit" doc:"Equity less the starting balance and the realised profit: the open trades at the last mark"`
	OrdersToday      int           `json:"orders_today" doc:"Orders placed since 00:00 UTC"`
	Account          *AccountUsage `json:"account_usage,omitempty" doc:"What every deployment on its venue account uses of the account's limits today (UTC)"`
	// The cost its runners measured over its life.
	CPUSeconds      float64 `json:"cpu_seconds" doc:"CPU time of its strategy runtime: a process strategy's process, the calls into a wasm instance or a built-in"`
	PeakMemoryBytes int64   `json:"peak_memory_bytes" doc:"Most memory its strategy runtime held at once: a process's peak resident set, a wasm instance's linear memory; 0 for a built-in (it shares the runner's memory)"`
	VenueWeight     int64   `json:"venue_weight" doc:"Request weight of the requests its runners sent to the venue (Binance's REQUEST_WEIGHT), in total"`
	VenueWeight1m   int64   `json:"venue_weight_1m" doc:"The weight the venue last reported used in its minute (X-MBX-USED-WEIGHT-1M: per IP, so every deployment of its runner's address counts)"`
}

// DeploymentList is the answer of GET /api/v1/deployments.
type DeploymentList struct {
	Deployments []Deployment `json:"deployments"`
}

// DeploymentTrade is one of a deployment's trades.
type DeploymentTrade struct {
	Seq         int64      `json:"seq" doc:"The trade's number in the deployment"`
	Open        bool       `json:"open"`
	Pair        string     `json:"pair"`
	EnterTag    string     `json:"enter_tag,omitempty"`
	OpenTime    time.Time  `json:"open_time"`
	OpenRate    float64    `json:"open_rate"`
	Amount      float64    `json:"amount"`
	Stake       float64    `json:"stake_amount"`
	VenueQty    string     `json:"venue_qty" doc:"Base quantity held at the venue"`
	CloseTime   *time.Time `json:"close_time,omitempty"`
	CloseRate   float64    `json:"close_rate,omitempty"`
	ExitReason  string     `json:"exit_reason,omitempty"`
	ProfitRatio float64    `json:"profit_ratio,omitempty"`
	ProfitAbs   float64    `json:"profit_abs,omitempty"`
}

// DeploymentTradeList is the answer of GET /api/v1/deployments/{id}/trades.
type DeploymentTradeList struct {
	Trades []DeploymentTrade `json:"trades"`
}

// DeploymentOrder is one order a deployment placed.
type DeploymentOrder struct {
	ClientOrderID string    `json:"client_order_id"`
	TradeSeq      int64     `json:"trade_seq"`
	Leg           string    `json:"leg" enum:"entry,exit"`
	Attempt       int       `json:"attempt"`
	Pair          string    `json:"pair"`
	Side          string    `json:"side"`
	Type          string    `json:"type"`
	Reason        string    `json:"reason,omitempty"`
	Status        string    `json:"status" doc:"PENDING until the venue answered, then the venue's"`
	Price         string    `json:"price,omitempty"`
	Quantity      string    `json:"quantity,omitempty"`
	QuoteQuantity string    `json:"quote_quantity,omitempty"`
	Executed      string    `json:"executed"`
	QuoteExecuted string    `json:"quote_executed"`
	VenueID       int64     `json:"venue_order_id,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// DeploymentOrderList is the answer of GET /api/v1/deployments/{id}/orders.
type DeploymentOrderList struct {
	Orders []DeploymentOrder `json:"orders"`
}

// Position is what a deployment holds of one pair: its open trade.
type Position struct {
	Pair     string    `json:"pair"`
	TradeSeq int64     `json:"trade_seq"`
	Quantity string    `json:"quantity" doc:"Base quantity held at the venue"`
	OpenRate float64   `json:"open_rate"`
	Stake    float64   `json:"stake_amount"`
	OpenTime time.Time `json:"open_time"`
	StopLoss float64   `json:"stop_loss,omitempty" doc:"The stop price the runner manages"`
	EnterTag string    `json:"enter_tag,omitempty"`
}

// PositionList is the answer of GET /api/v1/deployments/{id}/positions.
type PositionList struct {
	Positions []Position `json:"positions"`
}

// EquityPoint is a deployment's equity at a candle close.
type EquityPoint struct {
	Time   time.Time `json:"time"`
	Equity float64   `json:"equity"`
}

// EquityCurve is the answer of GET /api/v1/deployments/{id}/equity.
type EquityCurve struct {
	Points []EquityPoint `json:"points"`
}

// LogLine is one line of a deployment's log.
type LogLine struct {
	Seq   int64             `json:"seq" doc:"Pass the last one as after= to read on"`
	Time  time.Time         `json:"time"`
	Level string            `json:"level"`
	Msg   string            `json:"msg"`
	Attrs map[string]string `json:"attrs,omitempty"`
}

// LogPage is the answer of GET /api/v1/deployments/{id}/logs.
type LogPage struct {
	Lines []LogLine `json:"lines"`
	// Next is the after= of the next call.
	Next int64 `json:"next" doc:"after= for the next page (the last line's seq, or the after= given when there is none)"`
}

// StopRequest is the body of POST /api/v1/deployments/{id}/stop.
type StopRequest struct {
	Flatten bool `json:"flatten,omitempty" doc:"Close the open positions first: the runner sells them at the market at its next candle close, then stops the deployment"`
}

// DeploymentPromoteRequest is the body of POST /api/v1/deployments/{id}/promote:
// the paper deployment's version and config, live on a stored account.
type DeploymentPromoteRequest struct {
	To      string `json:"to" enum:"live" doc:"The mode promoted to: live"`
	Account string `json:"account" minLength:"1" maxLength:"200" doc:"One of your stored venue accounts (POST /api/v1/accounts), of the venue: a binance account for binance, a sim account for the simulator" example:"main"`
	Venue   string `json:"venue,omitempty" maxLength:"300" doc:"The live deployment's venue (default the paper deployment's): binance, sim, or a simulator URL the server allows" example:"binance"`
	Confirm string `json:"confirm,omitempty" maxLength:"200" doc:"The token of the first answer: creates the live deployment. Without it nothing is created; the answer shows the paper results and the risk limits that will apply, and a token valid for 10 minutes"`
}

// Promotion is the answer of POST /api/v1/deployments/{id}/promote.
type Promotion struct {
	Paper      PaperResults   `json:"paper"`
	Venue      string         `json:"venue"`
	Account    string         `json:"account"`
	RiskLimits map[string]any `json:"risk_limits" doc:"The risk limits the live deployment will trade under: its config's risk_limits (or the defaults), made tighter by the account's"`
	// Token and ExpiresAt are in the first answer (without confirm).
	Token     string     `json:"token,omitempty" doc:"Send it back as confirm to create the live deployment; it holds the plan shown (a changed plan, or one older than 10 minutes, needs a new one)"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Live is the live deployment, in the second answer (with confirm).
	Live *Deployment `json:"live,omitempty" doc:"The live deployment created"`
}

// PaperResults is what a paper deployment did, as its promotion shows it.
type PaperResults struct {
	ID              string  `json:"id"`
	Strategy        string  `json:"strategy"`
	StrategyVersion int     `json:"strategy_version,omitempty"`
	State           string  `json:"state"`
	RanSeconds      float64 `json:"ran_seconds" doc:"From its creation to now, or to its stop"`
	ClosedTrades    int     `json:"closed_trades"`
	OpenTrades      int     `json:"open_trades"`
	Wins            int     `json:"wins" doc:"Closed trades with a profit"`
	RealisedProfit  float64 `json:"realised_profit" doc:"Of the closed trades, fees included, in the stake currency"`
	StartingBalance float64 `json:"starting_balance" doc:"The config's dry_run_wallet"`
	MinSeconds      float64 `json:"min_seconds" doc:"How long a paper deployment must run before promotion (the server's setting)"`
	MinTrades       int     `json:"min_trades" doc:"How many trades it must have closed"`
}
