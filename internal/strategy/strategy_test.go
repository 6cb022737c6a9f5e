package strategy

import (
	"math"
	"reflect"
	"testing"

	"github.com/tradai/tradai/sdk"
)

func walk(n int) *sdk.Frame {
	f := &sdk.Frame{Pair: "A/B", Timeframe: "5m"}
	x := 100.0
	for i := 0; i < n; i++ {
		o := x
		x *= 1 + 0.02*math.Sin(float64(i)*0.21)*math.Cos(float64(i)*0.013)
		f.Time = append(f.Time, int64(i)*300_000)
		f.Open = append(f.Open, o)
		f.High = append(f.High, math.Max(o, x)*1.002)
		f.Low = append(f.Low, math.Min(o, x)*0.998)
		f.Close = append(f.Close, x)
		f.Volume = append(f.Volume, 10)
	}
	return f
}

func TestBuiltinsValidAndWithoutLookAhead(t *testing.T) {
	t.Parallel()
	for name, st := range Builtins() {
		if name == "signals" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			spec := st.Spec()
			if err := spec.Validate(); err != nil {
				t.Fatal(err)
			}
			p, err := spec.Resolve(nil)
			if err != nil {
				t.Fatal(err)
			}
			full := walk(3000)
			if err := st.Populate(full, p); err != nil {
				t.Fatal(err)
			}
			var entries int
			for i := range full.EnterLong {
				if full.EnterLong[i] || full.EnterShort[i] {
					entries++
				}
			}
			if entries == 0 {
				t.Fatal("no entries on a swinging series")
			}
			// Signals on a prefix must equal the full run's: no look-ahead.
			pre := walk(3000).Slice(0, 2000)
			if err := st.Populate(pre, p); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pre.EnterLong, full.EnterLong[:2000]) || !reflect.DeepEqual(pre.ExitLong, full.ExitLong[:2000]) ||
				!reflect.DeepEqual(pre.EnterShort, full.EnterShort[:2000]) {
				t.Fatal("signals on a prefix differ from the full series: look-ahead")
			}
		})
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	if _, err := Lookup("sma_cross"); err != nil {
		t.Fatal(err)
	}
	if _, err := Lookup("smacross"); err == nil {
		t.Fatal("unknown strategy accepted")
	}
}

func TestSMACrossRejectsFastAboveSlow(t *testing.T) {
	t.Parallel()
	if err := (SMACross{}).Populate(walk(100), sdk.Values{"fast": 30, "slow": 10}); err == nil {
		t.Fatal("fast >= slow accepted")
	}
}
