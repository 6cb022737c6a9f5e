package backtest

import (
	"context"
	"fmt"
	"math"

	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

// Settings are the resolved account and trade rules of one simulation.
type Settings struct {
	Rules                trade.Rules
	StartingBalance      float64
	StakeAmount          float64 // fixed stake per trade; 0 means "unlimited"
	TradableBalanceRatio float64
	MaxOpenTrades        int // -1 = unlimited
	AllowShort           bool
}

// Series is one pair's candles with signals populated. Candles [From, To)
// are the backtested range; the candle at From is traded only through its
// signals (a signal acts on the next candle's open), exactly as Freqtrade
// drops the first row of the range after shifting the signals.
type Series struct {
	Frame    *sdk.Frame
	From, To int
	digest   uint64 // of the candles as loaded (Run), for Result.DataFingerprint
}

// pairState is the simulation state of one pair.
type pairState struct {
	f         *sdk.Frame
	j, to     int
	open      bool
	tr        trade.Trade
	lastClose float64
}

// Simulate runs the portfolio simulation over series, processed together
// in time order. Within one candle time, pairs are processed in the order
// given; for each, a pending entry is taken first and then the open trade
// (including one entered on this candle) is checked for exits.
func Simulate(ctx context.Context, s Settings, series []Series) (*result.Result, error) {
	if len(series) == 0 {
		return nil, fmt.Errorf("backtest: no pairs to simulate")
	}
	tfMs := s.Rules.TimeframeMinutes * 60_000
	states := make([]pairState, len(series))
	res := &result.Result{StartingBalance: s.StartingBalance, MaxOpenTrades: s.MaxOpenTrades, Start: math.MaxInt64, End: math.MinInt64}
	var change float64
	for k, sr := range series {
		f := sr.Frame
		if !f.HasSignals() {
			return nil, fmt.Errorf("backtest: %s has no signal columns", f.Pair)
		}
		if sr.From < 0 || sr.To > f.Len() || sr.From >= sr.To {
			return nil, fmt.Errorf("backtest: %s: no candles in the selected range", f.Pair)
		}
		states[k] = pairState{f: f, j: sr.From + 1, to: sr.To, lastClose: f.Close[sr.From]}
		res.Start = min(res.Start, f.Time[sr.From])
		res.End = max(res.End, f.Time[sr.To-1])
		res.Candles += sr.To - sr.From
		change += f.Close[sr.To-1]/f.Close[sr.From] - 1
	}
	res.MarketChange = change / float64(len(series))

	var (
		rules     = &s.Rules
		closedPnL float64 // realised profit of closed trades
		tiedUp    float64 // stakes of open trades
		openCount int
		peak      = s.StartingBalance
		peakTime  = res.Start
		equity    = s.StartingBalance
		curDay    = int64(math.MinInt64) // UTC day of the previous step; MinInt64 before the first
		prevT     int64
		steps     int
	)
	t := int64(math.MaxInt64)
	for k := range states {
		if p := &states[k]; p.j < p.to {
			t = min(t, p.f.Time[p.j])
		}
	}
	for t != math.MaxInt64 {
		if steps++; steps&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("backtest cancelled: %w", err)
			}
		}
		if day := floorDiv(t, 86_400_000); day != curDay {
			if curDay != math.MinInt64 {
				res.Equity = append(res.Equity, result.EquityPoint{Time: prevT + tfMs, Equity: equity})
			}
			curDay = day
		}
		slotsAtStart := openCount
		next := int64(math.MaxInt64) // the following candle time, found on the way
		for k := range states {
			p := &states[k]
			j := p.j
			f := p.f
			if j >= p.to {
				continue
			}
			if f.Time[j] != t {
				next = min(next, f.Time[j])
				continue
			}
			i := j - 1 // the candle whose signals act now
			if !p.open && j != p.to-1 {
				long := f.EnterLong[i] && !f.ExitLong[i]
				short := s.AllowShort && f.EnterShort[i] && !f.ExitShort[i]
				if long != short && (s.MaxOpenTrades < 0 || slotsAtStart < s.MaxOpenTrades) {
					if stake := s.stake(closedPnL, tiedUp); stake > 0 {
						tag := ""
						if f.EnterTag != nil {
							tag = f.EnterTag[i]
						}
						p.tr = rules.Open(f.Pair, short, t, f.Open[j], stake, tag)
						p.open = true
						openCount++
						slotsAtStart++
						tiedUp += stake
					}
				}
			}
			if p.open {
				c := trade.Candle{Time: t, Open: f.Open[j], High: f.High[j], Low: f.Low[j], Close: f.Close[j]}
				if p.tr.IsShort {
					c.Enter, c.Exit = f.EnterShort[i], f.ExitShort[i]
				} else {
					c.Enter, c.Exit = f.EnterLong[i], f.ExitLong[i]
				}
				if reason, rate, ok := rules.Check(&p.tr, c); ok {
					rules.Close(&p.tr, t, rate, reason)
					closedPnL += p.tr.ProfitAbs
					tiedUp -= p.tr.Stake
					openCount--
					p.open = false
					res.Trades = append(res.Trades, p.tr)
				}
			}
			p.lastClose = f.Close[j]
			p.j++
			if p.j < p.to {
				next = min(next, f.Time[p.j])
			}
		}
		// Mark to market at this candle's close.
		equity = s.StartingBalance + closedPnL
		if openCount > 0 {
			for k := range states {
				if p := &states[k]; p.open {
					equity += p.tr.ProfitAbsAt(p.lastClose)
				}
			}
		}
		if equity > peak {
			peak, peakTime = equity, t+tfMs
		} else if dd := (peak - equity) / peak; dd > res.MaxDrawdownEquity {
			res.MaxDrawdownEquity = dd
			res.MaxDrawdownEquityAbs = peak - equity
			res.MaxDrawdownEquityPeak = peakTime
			res.MaxDrawdownEquityTrough = t + tfMs
		}
		prevT, t = t, next
	}
	// Trades still open close at their pair's last close.
	for k := range states {
		p := &states[k]
		if !p.open {
			continue
		}
		last := p.to - 1
		rules.Close(&p.tr, p.f.Time[last], p.f.Close[last], trade.ExitForce)
		closedPnL += p.tr.ProfitAbs
		p.open = false
		res.Trades = append(res.Trades, p.tr)
	}
	res.FinalBalance = s.StartingBalance + closedPnL
	if curDay != math.MinInt64 {
		res.Equity = append(res.Equity, result.EquityPoint{Time: prevT + tfMs, Equity: res.FinalBalance})
	}
	return res, nil
}

// stake sizes a new trade from the wallet, as Freqtrade does: the tradable
// part of the balance less what open trades tie up; "unlimited" splits the
// tradable balance evenly over max_open_trades. A fixed stake larger than
// what is available means no trade.
func (s *Settings) stake(closedPnL, tiedUp float64) float64 {
	available := (s.StartingBalance+closedPnL)*s.TradableBalanceRatio - tiedUp
	if available <= 0 {
		return 0
	}
	if s.StakeAmount > 0 {
		if s.StakeAmount > available {
			return 0
		}
		return s.StakeAmount
	}
	return min((available+tiedUp)/float64(s.MaxOpenTrades), available)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
