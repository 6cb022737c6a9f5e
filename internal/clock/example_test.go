package clock_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tradai/tradai/internal/clock"
)

// A test moves a fake clock instead of sleeping: it waits until the code
// under test waits on the clock, then moves it.
func ExampleFake() {
	f := clock.NewFake(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	done := make(chan struct{})
	go func() {
		_ = f.Sleep(context.Background(), time.Hour) // code under test
		close(done)
	}()
	_ = f.BlockUntil(context.Background(), 1)
	f.Advance(time.Hour)
	<-done
	fmt.Println(f.Now().Format(time.TimeOnly))
	// Output: 01:00:00
}
