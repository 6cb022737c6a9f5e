// Command sma_cross is the built-in sma_cross strategy as an external
// strategy: it gives the same signals for the same parameters. Build it
// and point TradAI at the binary:
//
//	go build -o sma_cross ./examples/strategies/go/sma_cross
package main

import (
	"fmt"

	"github.com/tradai/tradai/sdk"
	"github.com/tradai/tradai/sdk/serve"
	"github.com/tradai/tradai/sdk/ta"
)

// smaCross goes long when a fast simple moving average crosses above a
// slow one and exits when it crosses back below.
type smaCross struct{}

func (smaCross) Spec() sdk.Spec {
	return sdk.Spec{
		Name:           "sma_cross",
		Description:    "Long when SMA(fast) crosses above SMA(slow); exit on the cross back down.",
		Timeframe:      "5m",
		StartupCandles: 200,
		Params: []sdk.Param{
			{Name: "fast", Kind: sdk.Int, Default: 10, Min: 2, Max: 100, Help: "fast SMA period"},
			{Name: "slow", Kind: sdk.Int, Default: 30, Min: 5, Max: 200, Help: "slow SMA period"},
		},
		Risk: sdk.Risk{
			MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.10}, {Minutes: 240, Ratio: 0.04}, {Minutes: 720, Ratio: 0.01}},
			Stoploss:   -0.08,
		},
	}
}

// Columns asks TradAI for the close prices only.
func (smaCross) Columns() []string { return []string{"close"} }

func (smaCross) Populate(f *sdk.Frame, p sdk.Values) error {
	fast, slow := p.Int("fast"), p.Int("slow")
	if fast >= slow {
		return fmt.Errorf("sma_cross: fast period %d must be below slow period %d", fast, slow)
	}
	f.EnsureSignals()
	a, b := ta.SMA(f.Close, fast), ta.SMA(f.Close, slow)
	enter, exit := f.EnterLong, f.ExitLong
	for i := slow; i < len(a); i++ {
		up0, up1 := a[i-1] > b[i-1], a[i] > b[i]
		enter[i] = up1 && !up0
		exit[i] = up0 && !up1
	}
	return nil
}

func main() { serve.Run(smaCross{}) }
