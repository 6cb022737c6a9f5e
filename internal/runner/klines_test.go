package runner

import (
	"fmt"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
)

// The streamed candles a tick takes: only a run that follows the window's
// last candle and reaches the close; a candle delivered again is ignored,
// one after a gap drops the older ones, at most streamedMax are kept.
func TestStreamedTakesContiguousCandles(t *testing.T) {
	const m = 300_000 // 5m
	k := func(i int64) exchange.Kline {
		return exchange.Kline{Time: time.UnixMilli(i * m), Close: fixed.Dec(i)}
	}
	taken := func(s *streamed, after, upto int64) string {
		var got []int64
		ok := s.take("S", after*m, upto*m, func(k exchange.Kline) { got = append(got, int64(k.Close)) })
		return fmt.Sprint(ok, got)
	}
	for _, c := range []struct {
		name string
		add  []int64
		// Two takes: after the candle at after up to the one at upto.
		after, upto   int64
		want          string
		after2, upto2 int64
		want2         string
	}{
		{"the next candles, then none", []int64{3, 4, 5}, 2, 5, "true [3 4 5]", 5, 6, "false []"},
		{"up to the close only", []int64{3, 4, 5}, 2, 4, "true [3 4]", 4, 5, "true [5]"},
		{"older ones skipped", []int64{1, 2, 3}, 2, 3, "true [3]", 0, 3, "false []"},
		{"delivered again", []int64{3, 3, 2, 4}, 2, 4, "true [3 4]", 4, 5, "false []"},
		{"not reaching the close: kept", []int64{3, 4}, 2, 5, "false []", 2, 4, "true [3 4]"},
		{"not following the window", []int64{4, 5}, 2, 5, "false []", 3, 5, "true [4 5]"},
		{"a gap drops the older ones", []int64{3, 4, 6, 7}, 2, 7, "false []", 2, 4, "false []"},
		{"after a gap", []int64{3, 4, 6, 7}, 5, 7, "true [6 7]", 7, 8, "false []"},
		{"none", nil, 2, 3, "false []", 0, 3, "false []"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStreamed("5m")
			for _, i := range c.add {
				s.add("S", k(i))
			}
			if got := taken(s, c.after, c.upto); got != c.want {
				t.Fatalf("take after %d up to %d: %s, want %s", c.after, c.upto, got, c.want)
			}
			if got := taken(s, c.after2, c.upto2); got != c.want2 {
				t.Fatalf("then after %d up to %d: %s, want %s", c.after2, c.upto2, got, c.want2)
			}
		})
	}
	s := newStreamed("5m")
	for i := int64(1); i <= streamedMax+10; i++ {
		s.add("S", k(i))
	}
	if got := taken(s, 10, 10+streamedMax); got != fmt.Sprint(true, seq(11, 10+streamedMax)) {
		t.Fatalf("after %d candles: %s, want the newest %d", streamedMax+10, got, streamedMax)
	}
}

func seq(from, to int64) []int64 {
	var s []int64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}
