package binanceapi

import (
	"strconv"
	"testing"

	"github.com/tradai/tradai/internal/sim"
)

// TestTape: the synthesised trades are the price path's points — four a
// candle at sim.PathTimes, ids on the time grid — and page by fromId,
// startTime and endTime as Binance's trade endpoints do.
func TestTape(t *testing.T) {
	e := setup(t, nil)
	const t0, dur = 1704067200000, 60_000
	id := func(candle, point int64) int64 { return (t0/dur+candle)*4 + point }
	get := func(path, q string) []aggTradeJSON {
		t.Helper()
		var out []aggTradeJSON
		r := e.do(t, "GET", path, "symbol=BTCUSDT&"+q, "", nil)
		r.decode(t, &out)
		return out
	}
	ids := func(ts []aggTradeJSON) []int64 {
		var out []int64
		for _, x := range ts {
			out = append(out, x.ID)
		}
		return out
	}
	same := func(a []int64, b ...int64) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	// The newest 8: candles 8 and 9 (the clock is at 9's close), the last
	// at the last price.
	newest := get("/api/v3/aggTrades", "limit=8")
	if !same(ids(newest), id(8, 0), id(8, 1), id(8, 2), id(8, 3), id(9, 0), id(9, 1), id(9, 2), id(9, 3)) {
		t.Fatalf("newest ids = %v", ids(newest))
	}
	last, _ := e.eng.Price("BTCUSDT")
	pts := sim.PathTimes(t0+9*dur, dur)
	if x := newest[7]; x.Price != last || x.Time != pts[3] || x.FirstID != x.ID || x.LastID != x.ID || newest[4].Time != pts[0] {
		t.Fatalf("newest trade = %+v, last price %v, path %v", x, last, pts)
	}
	for _, tc := range []struct {
		q    string
		want []int64
	}{
		{"fromId=" + strconv.FormatInt(id(3, 2), 10) + "&limit=3", []int64{id(3, 2), id(3, 3), id(4, 0)}},
		{"startTime=" + strconv.Itoa(t0+dur) + "&limit=2", []int64{id(1, 0), id(1, 1)}},
		{"startTime=" + strconv.Itoa(t0+dur+1) + "&endTime=" + strconv.Itoa(t0+2*dur) + "&limit=10", []int64{id(1, 1), id(1, 2), id(1, 3), id(2, 0)}},
		{"endTime=" + strconv.Itoa(t0+2*dur+dur/3) + "&limit=2", []int64{id(2, 0), id(2, 1)}},
	} {
		if got := ids(get("/api/v3/aggTrades", tc.q)); !same(got, tc.want...) {
			t.Errorf("aggTrades %s = %v, want %v", tc.q, got, tc.want)
		}
	}
	var hist []tradeJSONPublic
	e.do(t, "GET", "/api/v3/historicalTrades", "symbol=BTCUSDT&limit=2&fromId="+strconv.FormatInt(id(0, 0), 10), "", nil).decode(t, &hist)
	if len(hist) != 2 || hist[0].ID != id(0, 0) || hist[1].IsBuyerMaker != (hist[1].Price < hist[0].Price) {
		t.Fatalf("historicalTrades = %+v", hist)
	}
	e.do(t, "GET", "/api/v3/aggTrades", "symbol=BTCUSDT&startTime=5&endTime=4", "", nil).wantError(t, 400, -1130, "")
	e.do(t, "GET", "/api/v3/trades", "symbol=NOPE", "", nil).wantError(t, 400, -1121, "")
}
