package live

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/download"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/replay"
	"github.com/tradai/tradai/internal/sim/replay/replaytest"
	"github.com/tradai/tradai/sdk"
)

// upstream serves replaytest.Frame(n)'s candles as a download.Source,
// pageSize at a time, counting requests; fail makes the next Fetch fail.
type upstream struct {
	frame    *sdk.Frame
	pageSize int
	requests [][2]int64
	fail     error
}

func (u *upstream) PageSize() int { return u.pageSize }

func (u *upstream) Fetch(_ context.Context, k market.Key, start, end int64) (download.Page, error) {
	u.requests = append(u.requests, [2]int64{start, end})
	if u.fail != nil {
		err := u.fail
		u.fail = nil
		return download.Page{}, err
	}
	f := &sdk.Frame{Pair: k.Pair, Timeframe: k.Timeframe}
	for i := range u.frame.Len() {
		if t := u.frame.Time[i]; t >= start && t < end && f.Len() < u.pageSize {
			f.Time = append(f.Time, t)
			f.Open, f.High, f.Low = append(f.Open, u.frame.Open[i]), append(f.High, u.frame.High[i]), append(f.Low, u.frame.Low[i])
			f.Close, f.Volume = append(f.Close, u.frame.Close[i]), append(f.Volume, u.frame.Volume[i])
		}
	}
	return download.Page{Candles: f}, nil
}

const t0 = int64(1704067200000) // replaytest.Frame's first candle

// setup is a live feed holding the first 3 candles of a 20-candle
// upstream, its wall clock at wall.
func setup(t *testing.T, wall int64, pageSize int) (*Poller, *replay.Feed, *upstream, *clock.Fake) {
	t.Helper()
	up := &upstream{frame: replaytest.Frame(20), pageSize: pageSize}
	sym, err := replay.DefaultSymbol("BTC/USDT", up.frame)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sim.New(sim.DefaultConfig(), []sim.Symbol{sym}, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := replay.FromFrame(sym.Name, up.frame, sym.TickSize)
	clk := clock.NewFake(time.UnixMilli(wall))
	feed, err := replay.New(eng, []replay.Series{{Symbol: sym.Name, Timeframe: "1m", Candles: all.Candles[:3]}},
		replay.Options{Live: true, Clock: clk, Now: wall})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Source: up, Pairs: []string{"BTC/USDT"}, Symbols: map[string]sim.Symbol{"BTC/USDT": sym}, Timeframe: "1m", Clock: clk}, feed)
	if err != nil {
		t.Fatal(err)
	}
	return p, feed, up, clk
}

// TestPollCatchesUp: after an outage, one poll fetches every candle closed
// since the feed's newest, page by page, and not the one still forming nor
// one closed less than the delay ago.
func TestPollCatchesUp(t *testing.T) {
	wall := t0 + 12*60_000 + 1_000 // 12 candles closed; the 12th 1 s ago, within the delay
	p, feed, up, _ := setup(t, wall, 4)
	if err := p.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if last, _ := feed.Last("BTCUSDT"); last != t0+10*60_000 {
		t.Fatalf("newest candle after the poll opens at +%d min, want +10", (last-t0)/60_000)
	}
	want := [][2]int64{{t0 + 3*60_000, t0 + 11*60_000}, {t0 + 7*60_000, t0 + 11*60_000}}
	if len(up.requests) != 2 || up.requests[0] != want[0] || up.requests[1] != want[1] {
		t.Fatalf("requests %v, want pages from +3 and +7 min up to +11", up.requests)
	}
	// Nothing new: no request.
	n := len(up.requests)
	if err := p.Poll(t.Context()); err != nil || len(up.requests) != n {
		t.Fatalf("a poll with nothing closed: %v, %d requests", err, len(up.requests)-n)
	}
}

// TestRunPollsAfterEachClose: Run sleeps until a candle's close plus the
// delay, polls, and after a failure retries sooner.
func TestRunPollsAfterEachClose(t *testing.T) {
	wall := t0 + 3*60_000 + 30_000 // half-way through the fourth candle
	p, feed, up, clk := setup(t, wall, 1000)
	up.fail = errors.New("upstream down")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	// The first poll has nothing closed to ask for; then it sleeps until
	// the fourth candle's close + 2 s.
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if len(up.requests) != 0 {
		t.Fatalf("requests before a close: %v", up.requests)
	}
	changed := feed.Changed()
	clk.Advance(30*time.Second + DefaultDelay) // the poll fails
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(DefaultRetry) // the retry gets it
	<-changed
	if last, _ := feed.Last("BTCUSDT"); last != t0+3*60_000 || len(up.requests) != 2 {
		t.Fatalf("after the retry: newest +%d min, requests %v", (last-t0)/60_000, up.requests)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestNewRefuses(t *testing.T) {
	feed := &replay.Feed{}
	for _, cfg := range []Config{
		{Timeframe: "1m"},
		{Source: &upstream{}, Timeframe: "1M"},
		{Source: &upstream{}, Timeframe: "1m", Pairs: []string{"ETH/BTC"}},
	} {
		if _, err := New(cfg, feed); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// TestKlinesAcrossACandleClose: between a candle's close and the poll that
// fetches it (Delay later), the wall clock is in the next candle but the
// feed does not hold the one that just closed. The klines served then end
// at the last candle held, closed, with no forming one after a hole, and
// every way of paging through them (startTime, endTime, limit) gives the
// same list, with no hole and no duplicate; after the poll, the closed
// candle and the one forming follow.
func TestKlinesAcrossACandleClose(t *testing.T) {
	wall := t0 + 4*60_000 + DefaultDelay.Milliseconds() // candle 3 closed, polled now
	p, feed, _, clk := setup(t, wall, 1000)
	if err := p.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := func(closed, forming int) []int64 {
		var out []int64
		for i := range closed + forming {
			out = append(out, t0+int64(i)*60_000)
		}
		return out
	}
	check := func(what string, closed, forming int) {
		t.Helper()
		all, err := feed.Klines("BTCUSDT", "1m", 0, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if got, w := times(all), want(closed, forming); !slices.Equal(got, w) {
			t.Fatalf("%s: klines open at %v min, want %v", what, mins(got), mins(w))
		}
		for i, k := range all {
			if k.Closed != (i < closed) {
				t.Fatalf("%s: kline +%d min closed %v", what, (k.Time-t0)/60_000, k.Closed)
			}
		}
		// Pages forward from the first candle, limit at a time.
		for limit := 1; limit <= 3; limit++ {
			var paged []int64
			for from := t0; ; {
				ks, err := feed.Klines("BTCUSDT", "1m", from, 0, limit)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, times(ks)...)
				if len(ks) < limit {
					break
				}
				from = ks[len(ks)-1].Time + 1
			}
			if !slices.Equal(paged, times(all)) {
				t.Fatalf("%s: pages of %d open at %v min, want %v", what, limit, mins(paged), mins(times(all)))
			}
		}
		// Pages backward by endTime, as the klines endpoint reads it.
		var back []int64
		for end := clk.Now().UnixMilli(); ; {
			ks, err := feed.Klines("BTCUSDT", "1m", t0, end, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(ks) == 0 {
				break
			}
			k := ks[len(ks)-1]
			back = append([]int64{k.Time}, back...)
			end = k.Time - 1
		}
		if !slices.Equal(back, times(all)) {
			t.Fatalf("%s: backward by endTime open at %v min, want %v", what, mins(back), mins(times(all)))
		}
	}
	check("after the poll", 4, 1)

	// Across the close of candle 4, before the poll that fetches it: the
	// clock moves (as the feed's Run moves it every tick) and a client asks.
	clk.Advance(time.Minute - time.Second)
	if err := feed.AdvanceTo(clk.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	check("1 s after the close, before the poll", 4, 0)

	clk.Advance(time.Second)
	if err := p.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("after the next poll", 5, 1)
}

func times(ks []replay.Kline) []int64 {
	out := []int64{}
	for _, k := range ks {
		out = append(out, k.Time)
	}
	return out
}

func mins(ts []int64) []int64 {
	out := []int64{}
	for _, t := range ts {
		out = append(out, (t-t0)/60_000)
	}
	return out
}
