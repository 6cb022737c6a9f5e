// Command bollinger_ls is an example external strategy that trades both
// sides and tags its entries: long when the close falls below the lower
// Bollinger band with RSI oversold (tag "bb_low"), short when it rises
// above the upper band with RSI overbought (tag "bb_high"); each side exits
// when the close crosses back over the middle band.
//
//	go build -o bollinger_ls ./examples/strategies/go/bollinger_ls
package main

import (
	"fmt"
	"math"

	"github.com/tradai/tradai/sdk"
	"github.com/tradai/tradai/sdk/serve"
	"github.com/tradai/tradai/sdk/ta"
)

type bollingerLS struct{}

func (bollingerLS) Spec() sdk.Spec {
	return sdk.Spec{
		Name:           "bollinger_ls",
		Description:    "Mean reversion on both sides: long below the lower Bollinger band with RSI oversold, short above the upper band with RSI overbought; exit at the middle band.",
		Timeframe:      "15m",
		StartupCandles: 100,
		CanShort:       true,
		Params: []sdk.Param{
			{Name: "rsi_period", Kind: sdk.Int, Default: 14, Min: 2, Max: 50},
			{Name: "rsi_low", Kind: sdk.Float, Default: 30.0, Min: 5, Max: 50, Help: "RSI below this is oversold"},
			{Name: "rsi_high", Kind: sdk.Float, Default: 70.0, Min: 50, Max: 95, Help: "RSI above this is overbought"},
			{Name: "bb_period", Kind: sdk.Int, Default: 20, Min: 5, Max: 100},
			{Name: "bb_std", Kind: sdk.Float, Default: 2.0, Min: 0.5, Max: 4},
			{Name: "sides", Kind: sdk.Categorical, Default: "both", Choices: []string{"both", "long", "short"}},
		},
		Risk: sdk.Risk{
			MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.04}, {Minutes: 180, Ratio: 0.015}, {Minutes: 600, Ratio: 0}},
			Stoploss:   -0.05,
		},
	}
}

func (bollingerLS) Columns() []string { return []string{"close"} }

func (bollingerLS) Populate(f *sdk.Frame, p sdk.Values) error {
	low, high := p.Float("rsi_low"), p.Float("rsi_high")
	if low >= high {
		return fmt.Errorf("bollinger_ls: rsi_low %v must be below rsi_high %v", low, high)
	}
	sides := p.String("sides")
	long, short := sides != "short", sides != "long"
	f.EnsureSignals()
	rsi := ta.RSI(f.Close, p.Int("rsi_period"))
	upper, mid, lower := ta.BollingerBands(f.Close, p.Int("bb_period"), p.Float("bb_std"))
	for i, c := range f.Close {
		if math.IsNaN(rsi[i]) || math.IsNaN(lower[i]) {
			continue
		}
		if long && c < lower[i] && rsi[i] < low {
			f.EnterLong[i] = true
			f.SetEnterTag(i, "bb_low")
		}
		if short && c > upper[i] && rsi[i] > high {
			f.EnterShort[i] = true
			f.SetEnterTag(i, "bb_high")
		}
		f.ExitLong[i] = c > mid[i]
		f.ExitShort[i] = c < mid[i]
	}
	return nil
}

func main() { serve.Run(bollingerLS{}) }
