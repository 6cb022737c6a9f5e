package replay

import (
	"fmt"
	"math"

	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/sdk"
)

// minNotionals are Binance's usual NOTIONAL minimums by quote asset; other
// quotes get none.
var minNotionals = map[string]string{
	"USDT": "5", "USDC": "5", "FDUSD": "5", "BUSD": "5", "TUSD": "5", "USD": "5", "EUR": "5",
	"BTC": "0.0001", "ETH": "0.001", "BNB": "0.01",
}

// DefaultSymbol defines pair's symbol from its candles, with filters shaped
// like Binance's:
//   - tickSize: the largest power of ten (10⁻⁸ … 1) that every price of the
//     data is a multiple of — historical prices lie on the exchange's tick;
//   - NOTIONAL minimum by quote asset (5 for USD stablecoins, 0.0001 BTC,
//     0.001 ETH, 0.01 BNB; none otherwise), applied to MARKET orders too;
//   - stepSize: the power of ten nearest below a tenth of the minimum
//     notional at the highest price (10⁻⁸ … 1), so the smallest order is
//     about ten steps; minQty one step, maxQty 9,000,000;
//   - PRICE_FILTER from one tick to 100× the highest price;
//   - MARKET_LOT_SIZE: no minimum or step, at most a tenth of maxQty;
//   - PERCENT_PRICE_BY_SIDE: prices from 0.2× to 5× the last price on
//     both sides; MAX_NUM_ORDERS 200; TRAILING_DELTA 10 to 2000 BIPS on
//     both sides (Binance's usual values).
func DefaultSymbol(pair string, f *sdk.Frame) (sim.Symbol, error) {
	m, err := binance.Symbol(pair)
	if err != nil {
		return sim.Symbol{}, err
	}
	if m.Settle != "" {
		return sim.Symbol{}, fmt.Errorf("pair %q is a futures pair: the simulator trades spot pairs (BASE/QUOTE)", pair)
	}
	name, base, quote := m.Symbol, m.Base, m.Quote
	if f.Len() == 0 {
		return sim.Symbol{}, fmt.Errorf("symbol %s: no candles to derive its filters from", name)
	}
	tick := fixed.One
	hiPrice := 0.0
	for i := 0; i < f.Len(); i++ {
		for _, v := range []float64{f.Open[i], f.High[i], f.Low[i], f.Close[i]} {
			x, err := fixed.FromFloat(v)
			if err != nil || x <= 0 {
				return sim.Symbol{}, fmt.Errorf("symbol %s: price %v is not usable", name, v)
			}
			for tick > 1 && x%tick != 0 {
				tick /= 10
			}
			hiPrice = max(hiPrice, v)
		}
	}
	minNotional := fixed.Dec(0)
	if s, ok := minNotionals[quote]; ok {
		minNotional = fixed.MustParse(s)
	}
	ref := minNotional.Float()
	if ref == 0 {
		ref = 0.0001 * hiPrice // no minimum: steps of about a ten-thousandth of a unit's value
	}
	step := pow10(math.Floor(math.Log10(ref / hiPrice / 10)))
	maxPrice := fixed.Max
	if mp, err := fixed.FromFloat(hiPrice * 100); err == nil {
		maxPrice = mp.CeilTo(tick)
	}
	maxQty := fixed.MustParse("9000000")
	return sim.Symbol{Name: name, Base: base, Quote: quote, Filters: sim.Filters{
		MinPrice: tick, MaxPrice: maxPrice, TickSize: tick,
		MinQty: step, MaxQty: maxQty, StepSize: step,
		MarketMaxQty: maxQty / 10,
		MinNotional:  minNotional, ApplyMinToMarket: true, MaxNotional: fixed.MustParse("9000000"),
		PercentPriceBySide: sim.PercentPriceBySide{BidUp: fixed.MustParse("5"), BidDown: fixed.MustParse("0.2"),
			AskUp: fixed.MustParse("5"), AskDown: fixed.MustParse("0.2")},
		MaxNumOrders:  200,
		TrailingDelta: sim.TrailingDeltaFilter{MinAbove: 10, MaxAbove: 2000, MinBelow: 10, MaxBelow: 2000},
	}}, nil
}

// pow10 is 10^e as a Dec, clamped to 10⁻⁸ … 1.
func pow10(e float64) fixed.Dec {
	e = max(-8, min(0, e))
	d := fixed.One
	for i := 0; i < int(-e); i++ {
		d /= 10
	}
	return d
}
