package report

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/racetest"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/trade"
)

// known is m as the metrics of Files.
func known(m metrics.Report) func() metrics.Report { return func() metrics.Report { return m } }

// pendingOf is m as metrics still being computed: it counts its calls and
// records how much of the output w held at the first.
type pendingOf struct {
	m       metrics.Report
	w       *bytes.Buffer
	calls   int
	written int
}

func (p *pendingOf) get() metrics.Report {
	if p.calls == 0 {
		p.written = p.w.Len()
	}
	p.calls++
	return p.m
}

// The files of a backtest written by one Files, whose metrics are still
// being computed, are the bytes each is alone (of a Files of known
// metrics); they ask for the metrics once between them, and the export
// has its strategy and trades written before it asks.
func TestFilesAsWritten(t *testing.T) {
	for name, fixture := range map[string]func() (*result.Result, metrics.Report){
		"small": smallFixture, "large": largeFixture, "empty": emptyFixture, "many": manyTradesFixture,
	} {
		t.Run(name, func(t *testing.T) {
			res, m := fixture()
			var got bytes.Buffer
			p := &pendingOf{m: m, w: &got}
			files := NewFiles(res, p.get, nil)
			if err := files.WriteJSON(&got); err != nil {
				t.Fatal(err)
			}
			want := writeJSON(t, res, m)
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("the export differs from the one written alone:\n%s\nwant:\n%s", got.Bytes(), want)
			}
			if trades := bytes.Index(want, []byte(`,"metrics":`)); p.written != trades {
				t.Errorf("the export asked for the metrics with %d bytes written, want %d (its strategy and trades)", p.written, trades)
			}

			var html bytes.Buffer
			if err := files.WriteHTML(&html); err != nil {
				t.Fatal(err)
			}
			if wantHTML := writeHTML(t, res, m); html.String() != wantHTML {
				t.Fatal("the report differs from the one written alone")
			}
			if p.calls != 1 {
				t.Errorf("the files asked for the metrics %d times, want once", p.calls)
			}
		})
	}
}

// A metric that is not finite fails the export when it comes, naming it;
// the rest of the result is checked before anything is written.
func TestFilesWriteJSONRejectsNonFinite(t *testing.T) {
	res, m := smallFixture()
	m.Summary.Sharpe = math.Inf(1)
	var buf bytes.Buffer
	err := NewFiles(res, func() metrics.Report { return m }, nil).WriteJSON(&buf)
	if err == nil || !strings.Contains(err.Error(), "metrics.sharpe") {
		t.Fatalf("error %v, want one naming metrics.sharpe", err)
	}

	res, m = smallFixture()
	res.Trades[1].ProfitRatio = math.NaN()
	buf.Reset()
	called := false
	err = NewFiles(res, func() metrics.Report { called = true; return m }, nil).WriteJSON(&buf)
	if err == nil || !strings.Contains(err.Error(), "trades[1].profit_ratio") {
		t.Fatalf("error %v, want one naming trades[1].profit_ratio", err)
	}
	if buf.Len() > 0 || called {
		t.Errorf("a trade not finite: %d bytes written, metrics asked for: %v; want nothing", buf.Len(), called)
	}
	if err := NewFiles(nil, func() metrics.Report { return m }, nil).WriteJSON(&buf); err == nil {
		t.Error("nil result accepted")
	}
}

// drain has the goroutine of e take every trade Closed was given before
// the files stop it, as it does when it keeps up with the run: what the
// files then use of its work does not depend on timing.
func (e *EarlyTrades) drain() {
	if len(e.cur) > 0 {
		e.chunks <- e.cur
		e.cur = nil
	}
	close(e.chunks)
	<-e.done
}

// Files given the EarlyTrades that saw the run's trades write the bytes
// they write without it, using what it made of the trades that are the
// result's first ones (the export's trade list, in memory) and making the
// rest; given one that saw other trades (fewer, or one changed in a
// number, a tag or the sign of a zero), they write them too. Whether its
// goroutine took all, some or none of the trades before the files began,
// the bytes are the same.
func TestFilesEarlyTrades(t *testing.T) {
	racetest.Skip(t, "writes a 19k-trade export and report fourteen ways, compute-bound (TestEarlyTradesSpoolFull keeps the early trades' goroutine under the race detector)")
	for name, fixture := range map[string]func() (*result.Result, metrics.Report){
		"small": smallFixture, "empty": emptyFixture, "many": manyTradesFixture,
	} {
		res, m := fixture()
		want := writeJSON(t, res, m)
		var wantHTML bytes.Buffer
		if err := NewFiles(res, known(m), nil).WriteHTML(&wantHTML); err != nil {
			t.Fatal(err)
		}
		changed := func(change func(t *trade.Trade)) []trade.Trade {
			ts := slices.Clone(res.Trades)
			if len(ts) > 0 {
				change(&ts[len(ts)-1])
			}
			return ts
		}
		n := len(res.Trades)
		for feed, c := range map[string]struct {
			ts      []trade.Trade
			spooled int // trades of the spool used, when drained
		}{
			"same": {res.Trades, n},
			// Whole chunks of the first trades: used, the rest made after.
			"first": {res.Trades[:n/2/tradesPerPiece*tradesPerPiece], n / 2 / tradesPerPiece * tradesPerPiece},
			// Ending in part of a chunk that is not the result's last:
			// the spool is not used.
			"fewer":   {res.Trades[:n/2], 0},
			"profit":  {changed(func(t *trade.Trade) { t.ProfitAbs++ }), 0},
			"tag":     {changed(func(t *trade.Trade) { t.EnterTag += "x" }), 0},
			"neg0":    {changed(func(t *trade.Trade) { t.LiquidationPrice = math.Copysign(0, -1) }), 0},
			"reorder": {slices.Concat(res.Trades[n/2:], res.Trades[:n/2]), 0},
		} {
			for _, drained := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%s/drained=%v", name, feed, drained), func(t *testing.T) {
					early := NewEarlyTrades()
					for i := range c.ts {
						early.Closed(&c.ts[i])
					}
					if drained {
						early.drain()
					}
					files := NewFiles(res, func() metrics.Report { return m }, early)
					if drained {
						if _, got := files.spooled(); got != c.spooled {
							t.Errorf("%d trades of the spool used, want %d", got, c.spooled)
						}
					}
					var js, html bytes.Buffer
					if err := files.WriteJSON(&js); err != nil {
						t.Fatal(err)
					}
					if err := files.WriteHTML(&html); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(js.Bytes(), want) {
						t.Error("the export differs from the one written without it")
					}
					if !bytes.Equal(html.Bytes(), wantHTML.Bytes()) {
						t.Error("the report differs from the one written without it")
					}
					// A second export writes the spool again.
					js.Reset()
					if err := files.WriteJSON(&js); err != nil || !bytes.Equal(js.Bytes(), want) {
						t.Errorf("the export written again differs (%v)", err)
					}
					early.Close()
					early.Close()
				})
			}
		}
	}
}

// A spool stops at spoolMax: its goroutine stops taking trades, Closed
// drops the rest, and the files use the whole chunks it holds and make the
// others, the bytes as without it.
func TestEarlyTradesSpoolFull(t *testing.T) {
	res, m := manyTradesFixture()
	want := writeJSON(t, res, m)
	// A spool with room for two chunks of the fixture's trades but not three.
	var text []byte
	for k := range 3 {
		ts := res.Trades[k*tradesPerPiece : (k+1)*tradesPerPiece]
		text = appendPiece(text, len(ts), func(i int) *trade.Trade { return &ts[i] }, k > 0)
	}
	early := NewEarlyTrades()
	defer early.Close()
	early.spool.size = spoolMax - len(text) + 100
	for i := range res.Trades {
		early.Closed(&res.Trades[i])
	}
	early.drain()
	files := NewFiles(res, known(m), early)
	if _, got := files.spooled(); got != 2*tradesPerPiece {
		t.Errorf("%d trades of the spool used, want %d", got, 2*tradesPerPiece)
	}
	var js bytes.Buffer
	if err := files.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(js.Bytes(), want) {
		t.Error("the export differs from the one written without it")
	}
}
