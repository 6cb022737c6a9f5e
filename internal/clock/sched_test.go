package clock

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestMoveFiresInTimeOrder checks the order one move fires waiters in:
// by time, ties in the order they were set. The channels are read after the
// move, so the order is taken from the heap as the move pops it.
func TestMoveFiresInTimeOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var s sched
	var ws []*waiter
	for range 200 {
		w := &waiter{s: &s, c: make(chan time.Time, 1), idx: -1}
		s.start(w, time.Duration(1+rng.IntN(50))*time.Second)
		ws = append(ws, w)
	}
	var prev *waiter
	for len(s.q) > 0 {
		w := s.q[0]
		if prev != nil && (w.when.Before(prev.when) || w.when.Equal(prev.when) && w.seq < prev.seq) {
			t.Fatalf("fired %s#%d after %s#%d", w.when, w.seq, prev.when, prev.seq)
		}
		prev = w
		if err := s.move(func(time.Time) (time.Time, error) { return w.when, nil }); err != nil {
			t.Fatal(err)
		}
		if w.idx != -1 || len(w.c) != 1 {
			t.Fatalf("waiter due %s not fired by a move to its time", w.when)
		}
	}
	for _, w := range ws {
		if got := <-w.c; !got.Equal(w.when) {
			t.Fatalf("waiter due %s sent %s", w.when, got)
		}
	}
}
