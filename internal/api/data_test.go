package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// dataServer is an API server on a data folder of its own: dir/data holds
// binance BTC/USDT 5m and a corrupt binance ETH/USDT 5m file, and
// dir/outside, beside the data folder, holds another series.
type dataServer struct {
	t       *testing.T
	h       http.Handler
	token   string
	dataDir string
	outside string
}

func candles(n int) *sdk.Frame {
	f := &sdk.Frame{Pair: "BTC/USDT", Timeframe: "5m"}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := range n {
		f.Time = append(f.Time, t0+int64(i)*300_000)
		f.Open, f.High, f.Low, f.Close, f.Volume = append(f.Open, 100), append(f.High, 101), append(f.Low, 99), append(f.Close, 100.5), append(f.Volume, 10)
	}
	return f
}

func newDataServer(t *testing.T) *dataServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	ds := &dataServer{t: t, dataDir: filepath.Join(dir, "data"), outside: filepath.Join(dir, "outside")}
	st, err := market.Open(ds.dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, market.Key{Exchange: "binance", Pair: "BTC/USDT", Timeframe: "5m"}, candles(12)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ds.dataDir, "binance", "ETH_USDT-5m.feather"), []byte("ARROW1\x00\x00 not a feather file ARROW1"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := datafile.WriteFeather(&buf, candles(12), false); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(ds.outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ds.outside, "BTC_USDT-5m.feather"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s, auth := newServer(t, sqliteDB(t), ds.dataDir, api.Options{}, nil)
	if ds.token, _, err = auth.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	ds.h = s.Handler()
	return ds
}

func (ds *dataServer) do(method, path string, body any) *httptest.ResponseRecorder {
	ds.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			ds.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	var req *http.Request
	if rd != nil {
		req = httptest.NewRequest(method, path, rd)
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	req.Header.Set("Authorization", "Bearer "+ds.token)
	rec := httptest.NewRecorder()
	ds.h.ServeHTTP(rec, req)
	return rec
}

func problemOf(t *testing.T, rec *httptest.ResponseRecorder) apitype.Problem {
	t.Helper()
	var p apitype.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
	}
	return p
}

// TestDataNamesNeverLeaveTheDataFolder: an exchange, pair, timeframe or
// candle type that would name a path outside the data folder is a 422
// naming the field; nothing outside is listed or written; an unknown
// exchange is a 404.
func TestDataNamesNeverLeaveTheDataFolder(t *testing.T) {
	ds := newDataServer(t)
	for _, ex := range []string{"../outside", "../../../../etc", ds.outside, "bin\x00ance", ".."} {
		rec := ds.do("GET", "/api/v1/data?exchange="+url.QueryEscape(ex), nil)
		p := problemOf(t, rec)
		if rec.Code != http.StatusUnprocessableEntity || p.Code != apitype.CodeInvalidRequest || len(p.Errors) != 1 || p.Errors[0].Location != "query.exchange" {
			t.Errorf("exchange %q: %d %s", ex, rec.Code, rec.Body)
		}
	}
	rec := ds.do("GET", "/api/v1/data?exchange=nowhere", nil)
	if rec.Code != http.StatusNotFound || problemOf(t, rec).Code != apitype.CodeNotFound || strings.Contains(rec.Body.String(), ds.dataDir) {
		t.Errorf("unknown exchange: %d %s", rec.Code, rec.Body)
	}
	for _, c := range []struct {
		req apitype.FreshnessRequest
		loc string
	}{
		{apitype.FreshnessRequest{Exchange: "../outside", Pairs: []string{"BTC/USDT"}, Timeframes: []string{"5m"}}, "body.exchange"},
		{apitype.FreshnessRequest{Exchange: "binance", Pairs: []string{"BTC/USDT", "BTC\x00/USDT"}, Timeframes: []string{"5m"}}, "body.pairs[1]"},
		{apitype.FreshnessRequest{Exchange: "binance", Pairs: []string{`..\..\BTC`}, Timeframes: []string{"5m"}}, "body.pairs[0]"},
		{apitype.FreshnessRequest{Exchange: "binance", Pairs: []string{"BTC/USDT"}, Timeframes: []string{"5m", "../1h"}}, "body.timeframes[1]"},
	} {
		rec := ds.do("POST", "/api/v1/data/freshness", c.req)
		p := problemOf(t, rec)
		if rec.Code != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Location != c.loc {
			t.Errorf("%+v: %d %s, want 422 at %s", c.req, rec.Code, rec.Body, c.loc)
		}
	}
	entries, err := os.ReadDir(ds.outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the server wrote beside the data folder: %d files", len(entries))
	}
}

// TestDataListsBesideACorruptFile: one corrupt file does not hide the other
// series; it is reported with why, named relative to the data folder.
func TestDataListsBesideACorruptFile(t *testing.T) {
	ds := newDataServer(t)
	for _, path := range []string{"/api/v1/data", "/api/v1/data?exchange=binance"} {
		rec := ds.do("GET", path, nil)
		var l apitype.DataList
		if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		if len(l.Series) != 1 || l.Series[0].Pair != "BTC/USDT" || l.Series[0].Count != 12 {
			t.Errorf("GET %s: series %+v", path, l.Series)
		}
		if len(l.Unreadable) != 1 || l.Unreadable[0].File != "binance/ETH_USDT-5m.feather" || l.Unreadable[0].Error == "" ||
			strings.Contains(rec.Body.String(), ds.dataDir) {
			t.Errorf("GET %s: unreadable %+v (body %s)", path, l.Unreadable, rec.Body)
		}
	}
}
