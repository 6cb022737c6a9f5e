package download

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// TestInterruptedDownload interrupts downloads at many points, by
// cancelling the context and by a server that fails every retry, and checks
// that the store stays valid and that the next run completes the series to
// exactly what an uninterrupted download stores.
func TestInterruptedDownload(t *testing.T) {
	const n = 3001 // the last candle is still open
	k := spotKey("BTC/USDT", "1m")
	series := genSeries("BTC/USDT", "1m", listing, n, 12)
	now := listing + (n-1)*minute + 30_000
	start := listing - 2000*minute // before the listing
	opts := BinanceOptions{PageSize: 250}
	dopts := Options{FlushEvery: 600}

	// The reference: one uninterrupted download into an empty store.
	ref := newEnv(t, now, opts)
	ref.fb.add("/api/v3/klines", "BTCUSDT", series)
	if _, err := ref.downloader(dopts).Download(context.Background(), []market.Key{k}, market.Range{Start: start}); err != nil {
		t.Fatal(err)
	}
	want := ref.load(k)
	sameCandles(t, want, series.Slice(0, n-1))
	wantCov, err := ref.store.Coverage(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}

	type how int
	const (
		cancelInRequest how = iota // cancelled while waiting for the answer
		cancelInFlight             // cancelled while the page is on its way
		cancelInWait               // cancelled while waiting to retry after a 429
		serverDown                 // HTTP 500 on every attempt
		truncated                  // half a page on every attempt
	)
	hows := map[how]string{cancelInRequest: "cancel in request", cancelInFlight: "cancel in flight",
		cancelInWait: "cancel in retry wait", serverDown: "server down", truncated: "truncated pages"}
	// stored, when set, is put in the store first: the run then goes
	// backwards from it to the start and forwards from its end.
	prefills := map[string][2]int{"empty store": {}, "stored middle": {1500, 1700}}

	for pname, pre := range prefills {
		for h, hname := range hows {
			for _, at := range []int{1, 3, 7, 12} { // 12 pages in all, a flush every 600 candles
				t.Run(fmt.Sprintf("%s/%s/request %d", pname, hname, at), func(t *testing.T) {
					t.Parallel()
					e := newEnv(t, now, opts)
					e.fb.add("/api/v3/klines", "BTCUSDT", series)
					if pre != [2]int{} {
						if _, err := e.store.Append(context.Background(), k, series.Slice(pre[0], pre[1])); err != nil {
							t.Fatal(err)
						}
					}
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					e.fb.hook = cancel
					e.fb.setFault(func(r int) *fault {
						if r < at {
							return nil
						}
						switch h {
						case cancelInRequest:
							return &fault{hang: true}
						case cancelInFlight:
							if r == at {
								return &fault{hook: true}
							}
						case cancelInWait:
							return &fault{status: 429, retryAfter: "3", hook: true}
						case serverDown:
							return &fault{status: 500}
						case truncated:
							return &fault{truncate: true}
						}
						return nil
					})
					rep1, err1 := e.downloader(dopts).Download(ctx, []market.Key{k}, market.Range{Start: start})
					if err1 == nil && h != cancelInFlight {
						t.Fatal("interrupted download reported no error")
					}
					if (h == cancelInRequest || h == cancelInWait) && !errors.Is(err1, context.Canceled) {
						t.Errorf("error %v does not say the download was cancelled", err1)
					}

					// The store is valid and holds a run of the right candles.
					stored := 0
					if _, err := e.store.Coverage(context.Background(), k); err == nil {
						got := e.load(k)
						checkContiguousPart(t, got, series)
						stored = got.Len()
					} else if !errors.Is(err, market.ErrNotFound) {
						t.Fatal(err)
					}
					if added := rep1.Series[0].Added + (pre[1] - pre[0]); added != stored {
						t.Errorf("first run reports %d candles stored in all, the store has %d", added, stored)
					}

					// The next run completes it, fetching nothing twice.
					e.fb.setFault(nil)
					rep2, err := e.downloader(dopts).Download(context.Background(), []market.Key{k}, market.Range{Start: start})
					if err != nil {
						t.Fatal(err)
					}
					if sr := rep2.Series[0]; sr.Received != sr.Added || stored+sr.Added != n-1 {
						t.Errorf("second run received %d, added %d, after %d stored; want %d new candles, no duplicates",
							sr.Received, sr.Added, stored, n-1-stored)
					}
					sameCandles(t, e.load(k), want)
					cov, err := e.store.Coverage(context.Background(), k)
					if err != nil {
						t.Fatal(err)
					}
					if cov.First != wantCov.First || cov.Last != wantCov.Last || cov.Count != wantCov.Count || len(cov.Gaps) != 0 {
						t.Errorf("coverage %+v, want %+v", cov, wantCov)
					}
				})
			}
		}
	}
}

// checkContiguousPart fails unless got is a run of consecutive candles of
// series with the same values.
func checkContiguousPart(t *testing.T, got, series *sdk.Frame) {
	t.Helper()
	if got.Len() == 0 {
		return
	}
	i := series.Search(got.Time[0])
	if i+got.Len() > series.Len() {
		t.Fatalf("stored %d candles from %d, beyond the series", got.Len(), got.Time[0])
	}
	sameCandles(t, got, series.Slice(i, i+got.Len()))
}
