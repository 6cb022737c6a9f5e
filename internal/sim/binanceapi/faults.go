package binanceapi

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/sim"
)

// Faults make the simulator fail the ways a real exchange does, to test
// the clients (runners) against them. Off when zero.
type Faults struct {
	// TooManyRequests is the share of requests (0–1) answered 429 with
	// Retry-After before they are handled.
	TooManyRequests float64
	// ErrorAfterOrder is the share of order placements answered 503
	// (Binance's -1007 "execution status unknown") although the order was
	// placed: the client must query it to learn its fate.
	ErrorAfterOrder float64
	// Latency is added before every answer.
	Latency time.Duration
	// DropStreams is the share (0–1) of websocket connections dropped each
	// minute, abruptly (no close frame), as a network failure would.
	DropStreams float64
	// Seed makes the random choices repeatable; 0 draws one.
	Seed uint64
}

func (f Faults) on() bool {
	return f.TooManyRequests > 0 || f.ErrorAfterOrder > 0 || f.Latency > 0 || f.DropStreams > 0
}

// faults draws the random choices of Faults.
type faults struct {
	cfg Faults
	mu  sync.Mutex
	rng *rand.Rand
}

func newFaults(cfg Faults) *faults {
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &faults{cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (f *faults) hit(share float64) bool {
	if share <= 0 {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.Float64() < share
}

// delay waits the configured latency or until ctx ends.
func (f *faults) delay(ctx context.Context, clk clock.Clock) {
	_ = clk.Sleep(ctx, f.cfg.Latency) // the request's end ends the wait
}

// errUnknownStatus is the injected failure after an order was placed.
var errUnknownStatus = &sim.Error{Code: -1007, Msg: "Timeout waiting for response from backend server. Send status unknown; execution status unknown."}

func (s *Server) writeInjected429(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusTooManyRequests, apiError{Code: sim.CodeTooManyRequests, Msg: "Too many requests queued."})
}
