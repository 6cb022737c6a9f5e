package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/runs"
)

// serve sends one request straight to the handler; nil when target is
// not a request URL a client could send.
func (b *bare) serve(method, target, body string, header ...string) *httptest.ResponseRecorder {
	req, err := http.NewRequest(method, "http://api"+target, strings.NewReader(body))
	if err != nil {
		return nil
	}
	req.RemoteAddr = "192.0.2.1:1234"
	req.Header.Set("Authorization", "Bearer "+b.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	return rec
}

// FuzzSubmit: whatever a tenant submits (body and Idempotency-Key), the
// answer is never a server error; an accepted submission is a run that
// can be read back, with text the databases can store.
func FuzzSubmit(f *testing.F) {
	b := newBare(f, sqliteDB(f), api.Options{RateLimit: 1e9}, nil)
	for _, s := range []string{
		`{"strategy":"rsi_bollinger"}`,
		`{"strategy":"rsi_bollinger","timerange":"20180110-20180112","pairs":["ETH/BTC"],"tags":{"a":"b"},"params":{"rsi_period":14}}`,
		`{"strategy":"sma_cross","config":{"dry_run_wallet":1e308,"exchange":{"name":"../x"}}}`,
		`{"strategy":"rsi_bollinger\u0000","tags":{"\u0001":"x"}}`,
		`{"strategy":"rsi_bollinger","tags":{"a":"\u0000"}}`,
		`{"strategy":"exec:/bin/sh"}`,
		`{"strategy":`, `[]`, `null`, ``,
	} {
		f.Add(s, "")
		f.Add(s, "key-1")
	}
	f.Fuzz(func(t *testing.T, body, key string) {
		// net/http refuses other control bytes in a header before any
		// handler runs, and trims the value.
		if strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) || strings.TrimSpace(key) != key {
			t.Skip("not a header value a client can send")
		}
		var header []string
		if key != "" {
			header = []string{"Idempotency-Key", key}
		}
		rec := b.serve("POST", "/api/v1/backtests", body, header...)
		if rec.Code >= 500 {
			t.Fatalf("POST %q (key %q): %d %s", body, key, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusAccepted {
			return
		}
		var tk apitype.Ticket
		if err := json.Unmarshal(rec.Body.Bytes(), &tk); err != nil {
			t.Fatal(err)
		}
		got := b.serve("GET", tk.StatusURL, "")
		var run apitype.Run
		if got.Code != http.StatusOK || json.Unmarshal(got.Body.Bytes(), &run) != nil {
			t.Fatalf("accepted %q but GET %s: %d %s", body, tk.StatusURL, got.Code, got.Body)
		}
		for k, v := range run.Tags {
			if runs.CheckText(k) != nil || runs.CheckText(v) != nil {
				t.Fatalf("accepted the tag %q=%q", k, v)
			}
		}
		if runs.CheckText(run.Strategy) != nil {
			t.Fatalf("accepted the strategy %q", run.Strategy)
		}
	})
}

// FuzzListQuery: whatever the query string of the run list, the answer is
// never a server error.
func FuzzListQuery(f *testing.F) {
	b := newBare(f, sqliteDB(f), api.Options{RateLimit: 1e9}, nil)
	for _, q := range []string{"", "status=queued", "strategy=sma&tag=a=b&tag=c=d", "tag=%00", "cursor=MTIzOnJ1bgA", "limit=0", "tag==", "cursor=%ff&limit=5", "x=1"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		rec := b.serve("GET", "/api/v1/backtests?"+q, "")
		if rec == nil {
			t.Skip("not a query a client can send")
		}
		if rec.Code >= 500 {
			t.Fatalf("GET ?%s: %d %s", q, rec.Code, rec.Body)
		}
	})
}

// FuzzSubmitStudy: whatever a tenant submits as a study, the answer is
// never a server error, and an accepted study can be read back.
func FuzzSubmitStudy(f *testing.F) {
	b := newBare(f, sqliteDB(f), api.Options{RateLimit: 1e9}, nil)
	for _, s := range []string{
		`{"strategy":"sma_cross","epochs":10}`,
		`{"strategy":"sma_cross","epochs":10,"spaces":["buy","roi"],"loss":"sharpe","sampler":"tpe","seed":1,"batch":4,"parallel":2,"fail_share":0.3}`,
		`{"strategy":"sma_cross","epochs":10,"spaces":["sell"]}`,
		`{"strategy":"sma_cross","epochs":10,"loss":"weights:nope=1"}`,
		`{"strategy":"sma_cross","epochs":0,"batch":-1}`,
		`{"strategy":"rsi_bollinger","epochs":5,"spaces":["trailing"],"fail_share":1e-300}`,
		`{"strategy":`, `[]`, `null`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := b.serve("POST", "/api/v1/studies", body)
		if rec.Code >= 500 {
			t.Fatalf("POST %q: %d %s", body, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusAccepted {
			return
		}
		var tk apitype.StudyTicket
		if err := json.Unmarshal(rec.Body.Bytes(), &tk); err != nil {
			t.Fatal(err)
		}
		if got := b.serve("GET", tk.StatusURL+"?top=5", ""); got.Code != http.StatusOK {
			t.Fatalf("accepted %q but GET %s: %d %s", body, tk.StatusURL, got.Code, got.Body)
		}
	})
}
