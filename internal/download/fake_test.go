package download

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/sdk"
)

// genSeries returns n candles of tf from first on, with values that survive
// formatting as decimal strings exactly.
func genSeries(pair string, tf sdk.Timeframe, first int64, n int, seed int) *sdk.Frame {
	f := &sdk.Frame{Pair: pair, Timeframe: tf}
	t := first
	for i := range n {
		base := float64(10000+((i*37+seed*101)%500)) / 100
		o := base + float64((i*13+seed)%7)/100
		c := base + float64((i*17+seed)%9)/100
		h := max(o, c) + float64((i*7)%5+1)/100
		l := min(o, c) - float64((i*11)%4+1)/100
		f.Time = append(f.Time, t)
		f.Open = append(f.Open, o)
		f.High = append(f.High, h)
		f.Low = append(f.Low, l)
		f.Close = append(f.Close, c)
		f.Volume = append(f.Volume, float64((i*31+seed)%1000)/10)
		t = tf.Next(t)
	}
	return f
}

// fault is a scripted answer of the fake server instead of the real page.
type fault struct {
	status     int    // HTTP status (0: 200)
	retryAfter string // Retry-After header
	body       string // raw body (empty: the page, or an error for status >= 400)
	truncate   bool   // send only the first half of the real page
	hang       bool   // call the hook and wait for the client to give up
	hook       bool   // call the hook, then answer as usual
}

// fakeBinance serves klines like Binance from generated series.
type fakeBinance struct {
	t   *testing.T
	clk *clock.Skipping
	srv *httptest.Server

	mu     sync.Mutex
	series map[string]*sdk.Frame // by path|symbol|interval
	n      int                   // requests so far
	log    []*http.Request
	minute int64
	used   int
	// fault, when set, is asked for each request (n is 1-based); a nil
	// result serves the page.
	fault func(n int) *fault
	// weight, when set, gives the X-MBX-USED-WEIGHT-1M header for request n.
	weight func(n int) int
	// hook is called for faults with hang set.
	hook func()
}

var fakeParams = map[string]string{
	"/api/v3/klines": "symbol", "/fapi/v1/klines": "symbol", "/fapi/v1/markPriceKlines": "symbol",
	"/fapi/v1/indexPriceKlines": "pair", "/fapi/v1/premiumIndexKlines": "symbol",
}

func newFakeBinance(t *testing.T, clk *clock.Skipping) *fakeBinance {
	fb := &fakeBinance{t: t, clk: clk, series: map[string]*sdk.Frame{}}
	fb.srv = httptest.NewServer(http.HandlerFunc(fb.serve))
	t.Cleanup(fb.srv.Close)
	return fb
}

func (fb *fakeBinance) add(path, symbol string, f *sdk.Frame) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	fb.series[path+"|"+symbol+"|"+string(f.Timeframe)] = f
}

func (fb *fakeBinance) requests() []*http.Request {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	return append([]*http.Request(nil), fb.log...)
}

func (fb *fakeBinance) setFault(f func(n int) *fault) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	fb.fault = f
}

func writeErr(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%d,"msg":%q}`, code, msg)
}

func (fb *fakeBinance) serve(w http.ResponseWriter, r *http.Request) {
	fb.mu.Lock()
	fb.n++
	n := fb.n
	fb.log = append(fb.log, r)
	var flt *fault
	if fb.fault != nil {
		flt = fb.fault(n)
	}
	if m := fb.clk.Now().Unix() / 60; m != fb.minute {
		fb.minute, fb.used = m, 0
	}
	fb.used += 2
	used := fb.used
	if fb.weight != nil {
		used = fb.weight(n)
	}
	hook := fb.hook
	fb.mu.Unlock()
	w.Header().Set("X-MBX-USED-WEIGHT-1M", strconv.Itoa(used))

	if flt != nil && flt.hang {
		if hook != nil {
			hook()
		}
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
			fb.t.Error("fake server: client did not give up")
		}
		return
	}
	if flt != nil && flt.hook && hook != nil {
		hook()
	}
	if flt != nil && flt.status >= 400 {
		if flt.retryAfter != "" {
			w.Header().Set("Retry-After", flt.retryAfter)
		}
		if flt.body != "" {
			w.WriteHeader(flt.status)
			fmt.Fprint(w, flt.body)
			return
		}
		writeErr(w, flt.status, -1000, "scripted failure")
		return
	}
	if flt != nil && flt.body != "" {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, flt.body)
		return
	}

	param, ok := fakeParams[r.URL.Path]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	fb.mu.Lock()
	f := fb.series[r.URL.Path+"|"+q.Get(param)+"|"+q.Get("interval")]
	fb.mu.Unlock()
	if f == nil {
		writeErr(w, http.StatusBadRequest, -1121, "Invalid symbol.")
		return
	}
	start, err1 := strconv.ParseInt(q.Get("startTime"), 10, 64)
	end, err2 := strconv.ParseInt(q.Get("endTime"), 10, 64)
	limit, err3 := strconv.Atoi(q.Get("limit"))
	if err1 != nil || err2 != nil || err3 != nil || limit < 1 || limit > 1500 {
		writeErr(w, http.StatusBadRequest, -1100, "Illegal characters found in a parameter.")
		return
	}
	i := f.Search(start)
	var b strings.Builder
	b.WriteByte('[')
	for k := 0; i < f.Len() && f.Time[i] <= end && k < limit; i, k = i+1, k+1 {
		if k > 0 {
			b.WriteByte(',')
		}
		num := func(v float64) string { return strconv.Quote(strconv.FormatFloat(v, 'f', -1, 64)) }
		closeTime := f.Timeframe.Next(f.Time[i]) - 1
		fmt.Fprintf(&b, `[%d,%s,%s,%s,%s,%s,%d,%s,%d,%s,%s,"0"]`, f.Time[i], num(f.Open[i]), num(f.High[i]),
			num(f.Low[i]), num(f.Close[i]), num(f.Volume[i]), closeTime, num(f.Volume[i]*f.Close[i]), 10+i%50,
			num(f.Volume[i]/2), num(f.Volume[i]*f.Close[i]/2))
	}
	b.WriteByte(']')
	body := b.String()
	if flt != nil && flt.truncate {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, body)
}
