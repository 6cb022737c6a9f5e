package runner

import (
	"sync"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/sdk"
)

// streamedMax bounds the candles kept per symbol from the kline stream:
// a tick takes them as they close, so more wait only while the runner is
// behind (it then reads the venue's klines).
const streamedMax = 64

// streamed holds the closed candles the venue's kline stream delivered,
// per symbol, oldest first and contiguous (a candle that does not follow
// the newest held drops the older ones), until a tick takes them. The
// stream's goroutine adds, the runner's takes.
type streamed struct {
	tf sdk.Timeframe
	mu sync.Mutex
	ks map[string][]exchange.Kline
}

func newStreamed(tf sdk.Timeframe) *streamed {
	return &streamed{tf: tf, ks: map[string][]exchange.Kline{}}
}

// add keeps sym's closed candle k: one delivered before (a reconnected
// stream's first candle) is ignored.
func (s *streamed) add(sym string, k exchange.Kline) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.ks[sym]
	t := k.Time.UnixMilli()
	if n := len(b); n > 0 {
		last := b[n-1].Time.UnixMilli()
		switch {
		case t <= last:
			return
		case t != s.tf.Next(last):
			b = b[:0] // a gap: the stream missed candles, the venue's klines fill it
		}
	}
	if len(b) == streamedMax {
		b = append(b[:0], b[1:]...)
	}
	s.ks[sym] = append(b, k)
}

// take passes to fn, oldest first, sym's candles opening after after up to
// the one opening at upto, and forgets them, when it holds every one of
// them (they follow after on the grid and reach upto); else it passes
// none and returns false.
func (s *streamed) take(sym string, after, upto int64, fn func(exchange.Kline)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.ks[sym]
	i := 0
	for i < len(b) && b[i].Time.UnixMilli() <= after {
		i++
	}
	j := i
	for j < len(b) && b[j].Time.UnixMilli() <= upto {
		j++
	}
	if i == j || b[i].Time.UnixMilli() != s.tf.Next(after) || b[j-1].Time.UnixMilli() != upto {
		return false
	}
	for _, k := range b[i:j] {
		fn(k)
	}
	s.ks[sym] = append(b[:0], b[j:]...)
	return true
}
