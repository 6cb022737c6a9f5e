package sandbox_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/sandbox"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

func TestGoStrategyInSandbox(t *testing.T) {
	prog := filepath.Join(bins, "sma_cross")
	cfg := (&sandbox.Config{}).With(prog)
	st, err := external.Start(context.Background(), []string{prog}, external.Options{Sandbox: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := st.Transport(); got != "shm" {
		t.Errorf("transport %q in the sandbox, want shm", got)
	}
	f := frame(5000)
	p, _ := st.Spec().Resolve(nil)
	if err := st.Populate(f, p); err != nil {
		t.Fatal(err)
	}
	want := frame(5000)
	if err := (strategy.SMACross{}).Populate(want, p); err != nil {
		t.Fatal(err)
	}
	for i := range f.EnterLong {
		if f.EnterLong[i] != want.EnterLong[i] || f.ExitLong[i] != want.ExitLong[i] {
			t.Fatalf("candle %d: signals differ from the built-in's", i)
		}
	}
}

func frame(n int) *sdk.Frame {
	f := &sdk.Frame{Pair: "BTC/USDT", Timeframe: "1m", Time: make([]int64, n), Open: make([]float64, n),
		High: make([]float64, n), Low: make([]float64, n), Close: make([]float64, n), Volume: make([]float64, n)}
	price := 100.0
	for i := range n {
		price *= 1 + 0.002*float64((i*7919)%13-6)/6
		f.Time[i] = 1_600_000_000_000 + int64(i)*60_000
		f.Open[i], f.High[i], f.Low[i], f.Close[i], f.Volume[i] = price, price*1.001, price*0.999, price, 1
	}
	return f
}
