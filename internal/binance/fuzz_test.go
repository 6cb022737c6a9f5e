package binance

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzDecode: whatever a server sends, the error decoder gives a bounded
// *APIError and the klines decoder rows or an error saying the answer is
// undecodable; neither panics.
func FuzzDecode(f *testing.F) {
	f.Add(400, "", []byte(`{"code":-1121,"msg":"Invalid symbol."}`))
	f.Add(418, "120", []byte(`{"code":-1003,"msg":"Way too much request weight used; IP banned until 1704067330000."}`))
	f.Add(429, "Mon, 01 Jan 2024 00:00:40 GMT", []byte(`{"code":-1003,"msg":"Too much request weight used"}`))
	f.Add(429, "99999999999999999999", []byte(`<html>`))
	f.Add(200, "", []byte(`[[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]]`))
	f.Add(200, "", []byte(`[[1,"1","2","0.5","1.5","10"],[2,1,2,0.5,1.5,10]]`))
	f.Add(200, "", []byte(`[[1,"1\u002e5","2","0.5","1.5","10"]]`))
	f.Add(200, "", []byte(`[[1,"1","2"`))
	f.Add(200, "", []byte(`[[1.5,true,null,{},[],"x"]]`))
	now := time.Date(2024, 1, 1, 0, 0, 10, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, retry string, body []byte) {
		h := http.Header{}
		h.Set("Retry-After", retry)
		e := decodeError("GET", "/api/v3/klines", status, h, body, now)
		if len(e.Msg) > 200+len("…") && e.Code == 0 {
			t.Fatalf("message of %d bytes from a body that is not an error", len(e.Msg))
		}
		if e.RetryAfter < 0 || !e.BannedUntil.IsZero() && (status != http.StatusTeapot || e.BannedUntil.Before(now)) {
			t.Fatalf("retry after %v, banned until %v for HTTP %d", e.RetryAfter, e.BannedUntil, status)
		}
		_ = e.Error()

		ks, err := DecodeKlines(body)
		if err != nil {
			if !errors.Is(err, ErrUndecodable) {
				t.Fatalf("error %v does not wrap ErrUndecodable", err)
			}
			return
		}
		for i := range ks.Len() {
			if _, err := ks.Row(i); err != nil {
				if !errors.Is(err, ErrUndecodable) || !strings.Contains(err.Error(), "row ") {
					t.Fatalf("row %d: error %v", i, err)
				}
				continue
			}
			if len(ks.Raw(i)) > 200+len("…") {
				t.Fatalf("raw row of %d bytes", len(ks.Raw(i)))
			}
		}
	})
}
