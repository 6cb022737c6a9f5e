package binance

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/exchange"
)

func TestErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		kind   error
	}{
		{400, `{"code":-2013,"msg":"Order does not exist."}`, exchange.ErrUnknownOrder},
		{400, `{"code":-2011,"msg":"Unknown order sent."}`, exchange.ErrUnknownOrder},
		{400, `{"code":-2010,"msg":"Account has insufficient balance for requested action."}`, exchange.ErrInsufficientBalance},
		{400, `{"code":-2010,"msg":"Duplicate order sent."}`, exchange.ErrDuplicateOrder},
		{400, `{"code":-2010,"msg":"Order would immediately match and take."}`, exchange.ErrRejected},
		{400, `{"code":-1013,"msg":"Filter failure: LOT_SIZE"}`, exchange.ErrFilter},
		{400, `{"code":-1121,"msg":"Invalid symbol."}`, exchange.ErrUnknownSymbol},
		{401, `{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}`, exchange.ErrAuth},
		{429, `{"code":-1003,"msg":"Too much request weight used"}`, exchange.ErrRateLimited},
		{418, `{"code":-1003,"msg":"banned"}`, exchange.ErrRateLimited},
		{503, `{"code":-1007,"msg":"Timeout waiting for response from backend server."}`, exchange.ErrUnknownStatus},
		{502, `<html>bad gateway</html>`, nil},
	} {
		err := decodeError(tc.status, "3", []byte(tc.body))
		var e *exchange.Error
		if !errors.As(err, &e) || e.HTTPStatus != tc.status || e.Msg == "" || e.RetryAfter != 3*time.Second {
			t.Fatalf("%s: %#v", tc.body, err)
		}
		if tc.kind != nil && !errors.Is(err, tc.kind) || tc.kind == nil && e.Kind != nil {
			t.Errorf("%s: kind %v, want %v", tc.body, e.Kind, tc.kind)
		}
	}
}

func FuzzParseKlines(f *testing.F) {
	f.Add([]byte(`[[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]]`))
	f.Add([]byte(`[[1,"1","2","0.5","1.5","10"]]`))
	f.Add([]byte(`[[1,2,3,4,5,6]]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var rows [][]json.RawMessage
		if json.Unmarshal(data, &rows) != nil {
			return
		}
		ks, err := parseKlines(rows)
		if err == nil && len(ks) != len(rows) {
			t.Fatalf("%d klines from %d rows", len(ks), len(rows))
		}
		decodeError(400, string(data), data) // never panics
	})
}
