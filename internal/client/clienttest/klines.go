package clienttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/tradai/tradai/sdk"
)

// FakeKlines serves Binance's GET /api/v3/klines for tests, without the
// internet: every symbol has candles of every timeframe, made up from
// their open times, except symbols starting with NOPE, which Binance does
// not know (HTTP 400, code -1121). It returns the base URL (for
// Options.DownloadURL); the server stops when the test ends.
func FakeKlines(t testing.TB) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		tf, err := sdk.ParseTimeframe(q.Get("interval"))
		if r.URL.Path != "/api/v3/klines" || err != nil || strings.HasPrefix(q.Get("symbol"), "NOPE") {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"code":-1121,"msg":"Invalid symbol."}`)
			return
		}
		start, _ := strconv.ParseInt(q.Get("startTime"), 10, 64)
		end, _ := strconv.ParseInt(q.Get("endTime"), 10, 64)
		limit, _ := strconv.Atoi(q.Get("limit"))
		rows := [][]any{}
		for ts := tf.Floor(start); ts <= end && len(rows) < limit; ts = tf.Next(ts) {
			if ts < start {
				continue
			}
			p := 100 + float64(ts/60_000%1000)/100
			num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
			rows = append(rows, []any{ts, num(p), num(p + 1), num(p - 1), num(p + 0.5), "10", tf.Next(ts) - 1, "0", 1, "0", "0", "0"})
		}
		json.NewEncoder(w).Encode(rows)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
