package binanceapi

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/sim"
)

// params are a request's parameters, from the query string and (for POST,
// PUT and DELETE) a form body; a name in both takes the query's value, as
// Binance does.
type params struct {
	vals    map[string]string
	payload string // the signed text: query then body, without the signature
	sig     string
	hasSig  bool
}

// maxParams bounds how many parameters a request may carry.
const maxParams = 64

// parseParams reads the raw query string and body. It rejects text that
// does not unescape (-1100), a name given twice in one of them (-1101) and
// too many parameters (-1101).
func parseParams(rawQuery, body string) (params, error) {
	p := params{vals: map[string]string{}}
	q, err := p.read(rawQuery, true)
	if err != nil {
		return params{}, err
	}
	b, err := p.read(body, false)
	if err != nil {
		return params{}, err
	}
	p.payload = q + b
	return p, nil
}

// read adds the parameters of raw and returns raw without its signature.
func (p *params) read(raw string, query bool) (string, error) {
	if raw == "" {
		return "", nil
	}
	parts := strings.Split(raw, "&")
	kept := parts[:0]
	seen := map[string]bool{}
	for _, part := range parts {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || key == "" {
			return "", &sim.Error{Code: sim.CodeIllegalChars, Msg: "Illegal characters found in a parameter."}
		}
		if seen[key] {
			return "", &sim.Error{Code: sim.CodeTooManyParams, Msg: "Duplicate values for a parameter detected."}
		}
		seen[key] = true
		if len(p.vals) >= maxParams {
			return "", &sim.Error{Code: sim.CodeTooManyParams, Msg: "Too many parameters sent for this endpoint."}
		}
		if key == "signature" {
			if !p.hasSig || query {
				p.sig, p.hasSig = val, true
			}
			continue
		}
		kept = append(kept, part)
		if _, inQuery := p.vals[key]; inQuery && !query {
			continue // the query's value wins
		}
		p.vals[key] = val
	}
	return strings.Join(kept, "&"), nil
}

func (p *params) has(name string) bool { return p.vals[name] != "" }

func (p *params) str(name string) string { return p.vals[name] }

func illegal(name, legal string) error {
	return &sim.Error{Code: sim.CodeIllegalChars, Msg: fmt.Sprintf("Illegal characters found in parameter '%s'; legal range is '%s'.", name, legal)}
}

const decimalRange = `^([0-9]{1,20})(\.[0-9]{1,20})?$`

// dec reads an optional decimal parameter; absent or empty is 0.
func (p *params) dec(name string) (fixed.Dec, error) {
	s := p.vals[name]
	if s == "" {
		return 0, nil
	}
	v, err := fixed.Parse(s)
	switch {
	case errors.Is(err, fixed.ErrPrecision):
		return 0, &sim.Error{Code: sim.CodeBadPrecision, Msg: fmt.Sprintf("Parameter '%s' has too much precision.", name)}
	case errors.Is(err, fixed.ErrRange):
		return 0, &sim.Error{Code: -1108, Msg: fmt.Sprintf("Parameter '%s' overflowed.", name)}
	case err != nil:
		return 0, illegal(name, decimalRange)
	}
	return v, nil
}

// long reads an optional integer parameter; absent or empty is (0, false).
func (p *params) long(name string) (int64, bool, error) {
	s := p.vals[name]
	if s == "" {
		return 0, false, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, false, illegal(name, `^[0-9]{1,20}$`)
	}
	return v, true, nil
}

// limit reads the limit parameter: def when absent, at most max.
func (p *params) limit(def, maxV int64) (int, error) {
	v, ok, err := p.long("limit")
	if err != nil {
		return 0, err
	}
	if !ok {
		return int(def), nil
	}
	if v < 1 || v > maxV {
		return 0, &sim.Error{Code: sim.CodeInvalidParameter, Msg: "Data sent for parameter 'limit' is not valid."}
	}
	return int(v), nil
}

// symbol reads the mandatory symbol parameter.
func (p *params) symbol() (string, error) {
	s := p.vals["symbol"]
	if s == "" {
		return "", sim.MandatoryParam("symbol")
	}
	if !validSymbol(s) {
		return "", illegal("symbol", `^[A-Z0-9-_.]{1,20}$`)
	}
	return s, nil
}

func validSymbol(s string) bool {
	if len(s) > 20 || s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

const clientIDRange = `^[\.A-Z\:/a-z0-9_-]{1,36}$`

// clientID reads an optional client order id parameter.
func (p *params) clientID(name string) (string, error) {
	s := p.vals[name]
	if s == "" {
		return "", nil
	}
	if len(s) > 36 {
		return "", illegal(name, clientIDRange)
	}
	for _, c := range []byte(s) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte(".:/_-", c) >= 0) {
			return "", illegal(name, clientIDRange)
		}
	}
	return s, nil
}

// symbolList reads exchangeInfo's and the tickers' symbols parameter: a
// JSON array of names, as ["BTCUSDT","ETHUSDT"].
func (p *params) symbolList() ([]string, error) {
	s := p.vals["symbols"]
	if s == "" {
		return nil, nil
	}
	bad := illegal("symbols", `^\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\]$`)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, bad
	}
	inner := strings.TrimSpace(s[1 : len(s)-1])
	if inner == "" {
		return nil, bad
	}
	var out []string
	for _, item := range strings.Split(inner, ",") {
		item = strings.TrimSpace(item)
		if len(item) < 2 || item[0] != '"' || item[len(item)-1] != '"' || !validSymbol(item[1:len(item)-1]) {
			return nil, bad
		}
		out = append(out, item[1:len(item)-1])
	}
	return out, nil
}
