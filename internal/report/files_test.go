package report

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/metrics"
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

// Files given the EarlyTrades that saw the run's trades write the bytes
// they write without it, from its texts of their numbers; given
// one that saw other trades (fewer, or one's profit changed), they write
// them too, making their own.
func TestFilesEarlyTrades(t *testing.T) {
	for name, fixture := range map[string]func() (*result.Result, metrics.Report){
		"small": smallFixture, "empty": emptyFixture, "many": manyTradesFixture,
	} {
		res, m := fixture()
		want := writeJSON(t, res, m)
		var wantHTML bytes.Buffer
		if err := NewFiles(res, known(m), nil).WriteHTML(&wantHTML); err != nil {
			t.Fatal(err)
		}
		changed := slices.Clone(res.Trades)
		if len(changed) > 0 {
			changed[len(changed)-1].ProfitAbs++
		}
		for feed, ts := range map[string][]trade.Trade{"same": res.Trades, "fewer": res.Trades[:len(res.Trades)/2], "changed": changed} {
			t.Run(name+"/"+feed, func(t *testing.T) {
				early := NewEarlyTrades("", true)
				for i := range ts {
					early.Closed(&ts[i])
				}
				files := NewFiles(res, func() metrics.Report { return m }, early)
				if got := early.numbersOf(res.Trades) != nil; got != (feed == "same" && len(res.Trades) > 0) {
					t.Errorf("early texts used: %v", got)
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
			})
		}
	}
}
