package clock

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// sched is the machinery of the clocks that stand still until moved ([Fake]
// and [Replay]): the time and a heap of the timers, tickers and sleeps
// waiting on it. Moving it fires what is due in time order (ties in the
// order they were set). Its zero value is a clock at the zero time.
type sched struct {
	mu      sync.Mutex
	now     time.Time
	q       waitHeap
	seq     uint64
	changed chan struct{} // closed when the number of waiters changes; nil until asked for
}

// waiter is one timer or ticker (a sleep is a timer). Its channel holds one
// time; a tick that finds it full is dropped.
type waiter struct {
	s      *sched
	c      chan time.Time
	when   time.Time
	period time.Duration // > 0: a ticker
	seq    uint64
	idx    int // in s.q; -1 when not waiting
}

// Now returns the clock's time.
func (s *sched) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Sleep waits until the clock has moved d on, or until ctx is done.
func (s *sched) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := s.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// NewTimer returns a timer that fires when the clock reaches now+d (at
// once for d ≤ 0).
func (s *sched) NewTimer(d time.Duration) Timer {
	w := &waiter{s: s, c: make(chan time.Time, 1), idx: -1}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.start(w, d)
	return (*fakeTimer)(w)
}

// NewTicker returns a ticker that fires every time the clock passes a
// multiple of d from now. A move of the clock over several periods fires
// it once, at the last period boundary it passed: the ticks in between are
// dropped, as time.Ticker drops ticks for a receiver that falls behind.
// It panics when d ≤ 0, like time.NewTicker.
func (s *sched) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	w := &waiter{s: s, c: make(chan time.Time, 1), idx: -1, period: d}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.start(w, d)
	return (*fakeTicker)(w)
}

// Waiters is the number of timers, tickers and sleeps waiting on the
// clock: a running ticker counts until it is stopped.
func (s *sched) Waiters() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.q)
}

// BlockUntil waits until at least n timers, tickers or sleeps wait on the
// clock (see [sched.Waiters]), or until ctx is done, returning ctx.Err().
// A test calls it before moving the clock, to know that the code under
// test has started waiting.
func (s *sched) BlockUntil(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		if len(s.q) >= n {
			s.mu.Unlock()
			return nil
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// move sets the time to to(now), first firing, in time order, everything
// due at or before it, the clock reading each one's time as it fires. A time
// before the clock's sets it back and fires nothing. An error from to leaves
// the clock as it was.
func (s *sched) move(to func(now time.Time) (time.Time, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := to(s.now)
	if err != nil {
		return err
	}
	for len(s.q) > 0 && !s.q[0].when.After(t) {
		w := s.q[0]
		if w.period > 0 {
			if n := t.Sub(w.when) / w.period; n > 0 {
				// Periods passed in one move: keep the last one.
				w.when = w.when.Add(n * w.period)
				heap.Fix(&s.q, 0)
				continue
			}
			s.now = w.when
			send(w.c, w.when)
			w.when = w.when.Add(w.period)
			heap.Fix(&s.q, 0)
			continue
		}
		heap.Pop(&s.q)
		s.notify()
		s.now = w.when
		send(w.c, w.when)
	}
	s.now = t
	return nil
}

// start schedules w at now+d; s.mu is held.
func (s *sched) start(w *waiter, d time.Duration) {
	if d <= 0 {
		send(w.c, s.now)
		return
	}
	w.when = s.now.Add(d)
	s.seq++
	w.seq = s.seq
	heap.Push(&s.q, w)
	s.notify()
}

// stop takes w off the heap and empties its channel; it reports whether w
// was waiting. s.mu is held.
func (s *sched) stop(w *waiter) bool {
	active := w.idx >= 0
	if active {
		heap.Remove(&s.q, w.idx)
		s.notify()
	}
	select {
	case <-w.c:
	default:
	}
	return active
}

// notify wakes BlockUntil; s.mu is held.
func (s *sched) notify() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

func send(c chan time.Time, t time.Time) {
	select {
	case c <- t:
	default: // the receiver has not taken the last one: drop this one
	}
}

type fakeTimer waiter

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	w := (*waiter)(t)
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.stop(w)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	w := (*waiter)(t)
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	active := w.s.stop(w)
	w.s.start(w, d)
	return active
}

type fakeTicker waiter

func (t *fakeTicker) C() <-chan time.Time { return t.c }

func (t *fakeTicker) Stop() {
	w := (*waiter)(t)
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.s.stop(w)
}

func (t *fakeTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clock: non-positive interval for Ticker.Reset")
	}
	w := (*waiter)(t)
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.s.stop(w)
	w.period = d
	w.s.start(w, d)
}

// waitHeap orders waiters by time, then by when they were set.
type waitHeap []*waiter

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *waitHeap) Push(x any) {
	w := x.(*waiter)
	w.idx = len(*h)
	*h = append(*h, w)
}
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	w.idx = -1
	*h = old[:len(old)-1]
	return w
}
