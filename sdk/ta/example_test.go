package ta_test

import (
	"fmt"

	"github.com/tradai/tradai/sdk/ta"
)

func ExampleSMA() {
	closes := []float64{1, 2, 3, 4, 5}
	fmt.Println(ta.SMA(closes, 3))
	// Output: [NaN NaN 2 3 4]
}

func ExampleCrossedAbove() {
	closes := []float64{10, 9, 8, 9, 11, 12, 11, 10}
	fast, slow := ta.EMA(closes, 2), ta.SMA(closes, 4)
	for i := range closes {
		if ta.CrossedAbove(fast, slow, i) {
			fmt.Println("golden cross at candle", i)
		}
	}
	// Output: golden cross at candle 4
}
