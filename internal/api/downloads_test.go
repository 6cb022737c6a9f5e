package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
)

// A download is queued, followed to the end with its steps, and its
// candles are in the store; a bad request names each field; another
// tenant does not find it; a server without a downloader refuses.
func TestDownloads(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{DownloadURL: clienttest.FakeKlines(t)})
	req := apitype.DownloadRequest{Exchange: "binance", Pairs: []string{"ETH/BTC", "LTC/BTC"}, Timeframes: []string{"1h"}, Timerange: "20240101-20240103"}
	r := e.do("POST", "/api/v1/data/downloads", e.token, req)
	if r.status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	var tk apitype.Ticket
	r.decode(t, &tk)
	if !strings.HasPrefix(tk.StatusURL, "/api/v1/data/downloads/run_") || r.header.Get("Location") != tk.StatusURL {
		t.Fatalf("ticket %+v", tk)
	}
	run := e.wait(e.token, tk.StatusURL)
	if run.Status != "completed" || run.Kind != "download" || run.Progress != 1 || len(run.Steps) != 3 || run.Steps[1].Name != "download" ||
		!strings.Contains(run.Steps[1].Detail, "binance LTC/BTC 1h: 48 new candles") {
		t.Fatalf("download %+v", run)
	}
	var m struct{ Added int }
	if err := json.Unmarshal(run.Metrics, &m); err != nil || m.Added != 96 {
		t.Fatalf("metrics %s", run.Metrics)
	}
	var data apitype.DataList
	e.do("GET", "/api/v1/data?exchange=binance", e.token, nil).decode(t, &data)
	if len(data.Series) != 2 {
		t.Fatalf("stored series %+v", data.Series)
	}
	if r := e.do("GET", tk.StatusURL, e.other, nil); r.status != http.StatusNotFound {
		t.Fatalf("another tenant: %d", r.status)
	}
	// A backtest's id is not a download.
	bt := e.submit(e.token, submission(t))
	if r := e.do("GET", "/api/v1/data/downloads/"+bt.RunID, e.token, nil); r.status != http.StatusNotFound {
		t.Fatalf("a backtest as a download: %d", r.status)
	}

	bad := apitype.DownloadRequest{Exchange: "kraken", Pairs: []string{"ETH/BTC", `ETH\BTC`}, Timeframes: []string{"7q"}, Timerange: "soon"}
	r = e.do("POST", "/api/v1/data/downloads", e.token, bad)
	p := r.problem(t)
	var locs []string
	for _, d := range p.Errors {
		locs = append(locs, d.Location)
	}
	if r.status != http.StatusUnprocessableEntity || strings.Join(locs, " ") != "body.exchange body.pairs[1] body.timeframes[0] body.timerange" {
		t.Fatalf("bad request: %d %s", r.status, r.body)
	}

	plain := newEnv(t, sqliteDB(t), clienttest.Options{})
	if r := plain.do("POST", "/api/v1/data/downloads", plain.token, req); r.status != http.StatusConflict || !strings.Contains(r.problem(t).Detail, "--download") {
		t.Fatalf("a server without --download: %d %s", r.status, r.body)
	}
}
