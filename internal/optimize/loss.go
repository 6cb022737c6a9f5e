package optimize

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
)

// MaxLoss is the loss of a trial with fewer trades than the study's
// minimum (Freqtrade's MAX_LOSS).
const MaxLoss = 100_000.0

// Loss turns one trial's result and metrics into the number a study
// minimises.
type Loss struct {
	// Name is Freqtrade's class name, or "weights:…" for a weighted sum.
	Name string
	fn   func(res *result.Result, m *metrics.Summary) float64
}

// Of returns the loss of res, whose metrics are m.
func (l Loss) Of(res *result.Result, m *metrics.Summary) float64 { return l.fn(res, m) }

// lossDef is one of Freqtrade's loss functions under its class name and
// our short name.
type lossDef struct {
	name, short string
	fn          func(res *result.Result, m *metrics.Summary) float64
}

// losses lists Freqtrade's loss functions, written from their published
// formulas (freqtrade/optimize/hyperopt_loss); read-only.
func losses() []lossDef {
	return []lossDef{
		{"ShortTradeDurHyperOptLoss", "short_trade_dur", shortTradeDur},
		{"OnlyProfitHyperOptLoss", "only_profit", func(_ *result.Result, m *metrics.Summary) float64 { return -m.ProfitTotalAbs }},
		{"SharpeHyperOptLoss", "sharpe", func(_ *result.Result, m *metrics.Summary) float64 { return -m.Sharpe }},
		{"SharpeHyperOptLossDaily", "sharpe_daily", sharpeDailyLoss},
		{"SortinoHyperOptLoss", "sortino", func(_ *result.Result, m *metrics.Summary) float64 { return -m.Sortino }},
		{"SortinoHyperOptLossDaily", "sortino_daily", sortinoDailyLoss},
		{"MaxDrawDownHyperOptLoss", "max_drawdown", maxDrawDown},
		{"MaxDrawDownRelativeHyperOptLoss", "max_drawdown_relative", maxDrawDownRelative},
		{"CalmarHyperOptLoss", "calmar", func(_ *result.Result, m *metrics.Summary) float64 { return -m.Calmar }},
		{"ProfitDrawDownHyperOptLoss", "profit_drawdown", profitDrawDown},
	}
}

// LossNames lists the loss functions' names: Freqtrade's class names,
// each with its short name.
func LossNames() []string {
	var out []string
	for _, d := range losses() {
		out = append(out, d.name+" ("+d.short+")")
	}
	return out
}

// LossNamed returns the loss function called name: a Freqtrade class name
// (SharpeHyperOptLoss), its short name (sharpe), or a weighted sum of
// metrics "weights:NAME=W,NAME=W" where each NAME is a number of the
// metrics summary under its JSON name (profit_total, sharpe,
// max_drawdown_account, …) and the loss is the sum of W×value (a negative
// weight rewards a metric).
func LossNamed(name string) (Loss, error) {
	if spec, ok := strings.CutPrefix(name, "weights:"); ok {
		return weighted(name, spec)
	}
	for _, d := range losses() {
		if name == d.name || name == d.short {
			return Loss{Name: d.name, fn: d.fn}, nil
		}
	}
	return Loss{}, fmt.Errorf("--loss: unknown loss function %q (known: %s; or weights:METRIC=W,…)", name, strings.Join(LossNames(), ", "))
}

// weighted parses "NAME=W,NAME=W" over the metrics summary's JSON names.
func weighted(name, spec string) (Loss, error) {
	type term struct {
		field int
		w     float64
	}
	fields := map[string]int{}
	st := reflect.TypeFor[metrics.Summary]()
	for i := range st.NumField() {
		f := st.Field(i)
		switch f.Type.Kind() {
		case reflect.Float64, reflect.Int:
			fields[strings.Split(f.Tag.Get("json"), ",")[0]] = i
		default:
		}
	}
	var terms []term
	for _, part := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Loss{}, fmt.Errorf("--loss %s: %q is not METRIC=WEIGHT", name, part)
		}
		i, known := fields[k]
		if !known {
			names := make([]string, 0, len(fields))
			for n := range fields {
				names = append(names, n)
			}
			slices.Sort(names)
			return Loss{}, fmt.Errorf("--loss %s: unknown metric %q (known: %s)", name, k, strings.Join(names, ", "))
		}
		w, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(w) || math.IsInf(w, 0) {
			return Loss{}, fmt.Errorf("--loss %s: weight %q of %s is not a number", name, v, k)
		}
		terms = append(terms, term{i, w})
	}
	return Loss{Name: name, fn: func(_ *result.Result, m *metrics.Summary) float64 {
		v := reflect.ValueOf(m).Elem()
		var sum float64
		for _, t := range terms {
			f := v.Field(t.field)
			if f.Kind() == reflect.Int {
				sum += t.w * float64(f.Int())
			} else {
				sum += t.w * f.Float()
			}
		}
		return sum
	}}, nil
}

// shortTradeDur is Freqtrade's ShortTradeDurHyperOptLoss: a trade count
// near 600, a total profit ratio near 3 and short trades score best.
func shortTradeDur(_ *result.Result, m *metrics.Summary) float64 {
	const (
		targetTrades      = 600
		expectedMaxProfit = 3.0
		maxTradeDuration  = 300.0
	)
	n := float64(m.TotalTrades)
	totalProfit := m.ProfitMean * n // the sum of the trades' profit ratios
	tradeLoss := 1 - 0.25*math.Exp(-(n-targetTrades)*(n-targetTrades)/math.Pow(10, 5.8))
	profitLoss := math.Max(0, 1-totalProfit/expectedMaxProfit)
	durationLoss := 0.4 * math.Min(m.HoldingAvg/maxTradeDuration, 1)
	return tradeLoss + profitLoss + durationLoss
}

// maxDrawDown is Freqtrade's MaxDrawDownHyperOptLoss: minus the total
// profit over the largest drawdown (both in the stake currency), minus the
// total profit without a drawdown.
func maxDrawDown(_ *result.Result, m *metrics.Summary) float64 {
	if m.MaxDrawdownAbs == 0 {
		return -m.ProfitTotalAbs
	}
	return -m.ProfitTotalAbs / m.MaxDrawdownAbs
}

// maxDrawDownRelative is Freqtrade's MaxDrawDownRelativeHyperOptLoss:
// minus the total profit over the largest drawdown and over the largest
// relative drawdown of the balance, minus the total profit without one.
func maxDrawDownRelative(res *result.Result, m *metrics.Summary) float64 {
	rel := maxRelativeDrawdown(res.Trades, res.StartingBalance)
	if m.MaxDrawdownAbs == 0 || rel == 0 {
		return -m.ProfitTotalAbs
	}
	return -m.ProfitTotalAbs / m.MaxDrawdownAbs / rel
}

// maxRelativeDrawdown is the largest (high − balance) / high of the
// balance after each closed trade (by close time), where high is the
// starting balance plus the highest cumulative profit so far — the
// running high starting at the first trade, as in internal/metrics.
func maxRelativeDrawdown(ts []trade.Trade, start float64) float64 {
	closed := make([]*trade.Trade, 0, len(ts))
	for i := range ts {
		if ts[i].CloseTime != 0 {
			closed = append(closed, &ts[i])
		}
	}
	slices.SortStableFunc(closed, func(a, b *trade.Trade) int { return cmp.Compare(a.CloseTime, b.CloseTime) })
	var cum, rel float64
	high := math.Inf(-1)
	for _, t := range closed {
		cum += t.ProfitAbs
		high = math.Max(high, cum)
		if top := start + high; top > 0 {
			rel = math.Max(rel, (high-cum)/top)
		}
	}
	return rel
}

// profitDrawDown is Freqtrade's ProfitDrawDownHyperOptLoss: the total
// profit less the relative account drawdown's share of it, weighted by
// 1 − 0.055.
func profitDrawDown(_ *result.Result, m *metrics.Summary) float64 {
	const drawdownMult = 0.055
	p := m.ProfitTotalAbs
	return -(p - m.MaxDrawdownAccount*p*(1-drawdownMult))
}

// Freqtrade's daily losses: each trade's profit ratio less a slippage of
// 0.05% summed per UTC day of its close, from the first day of the
// backtest to its last, days without a close counting 0.
const (
	dailySlippage  = 0.0005
	daysInYear     = 365
	dailySentinel  = -20.0 // Freqtrade's ratio for a zero deviation
	minAcceptedRet = 0.0
)

// dailyProfits is the per-day sums described above.
func dailyProfits(res *result.Result) []float64 {
	first, last := clock.Day(res.Start), clock.Day(res.End)
	if last < first {
		return nil
	}
	days := make([]float64, last-first+1)
	for i := range res.Trades {
		t := &res.Trades[i]
		if t.CloseTime == 0 {
			continue
		}
		if d := clock.Day(t.CloseTime); d >= first && d <= last {
			days[d-first] += t.ProfitRatio - dailySlippage
		}
	}
	return days
}

// sharpeDailyLoss is Freqtrade's SharpeHyperOptLossDaily: minus mean /
// sample std of the daily profits × sqrt(365) (risk-free rate 0); -20 as
// the ratio when the deviation is 0 or undefined (fewer than 2 days).
func sharpeDailyLoss(res *result.Result, _ *metrics.Summary) float64 {
	r := dailyProfits(res)
	if len(r) < 2 {
		return -dailySentinel
	}
	var mean float64
	for _, v := range r {
		mean += v
	}
	mean /= float64(len(r))
	var ss float64
	for _, v := range r {
		ss += (v - mean) * (v - mean)
	}
	sd := math.Sqrt(ss / float64(len(r)-1))
	if sd == 0 {
		return -dailySentinel
	}
	return -(mean / sd * math.Sqrt(daysInYear))
}

// sortinoDailyLoss is Freqtrade's SortinoHyperOptLossDaily: minus mean /
// downside deviation (sqrt of the mean of min(r, 0)² over every day) of
// the daily profits × sqrt(365); -20 as the ratio without a losing day.
func sortinoDailyLoss(res *result.Result, _ *metrics.Summary) float64 {
	r := dailyProfits(res)
	if len(r) == 0 {
		return -dailySentinel
	}
	var mean, ss float64
	for _, v := range r {
		v -= minAcceptedRet
		mean += v
		if v < 0 {
			ss += v * v
		}
	}
	mean /= float64(len(r))
	down := math.Sqrt(ss / float64(len(r)))
	if down == 0 {
		return -dailySentinel
	}
	return -(mean / down * math.Sqrt(daysInYear))
}
