package binance

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrUndecodable marks an answer that cannot be read: a truncated body,
// JSON of the wrong shape. [Client.Do] retries GET requests whose decoder
// returns an error wrapping it, and [DecodeKlines] and [Klines.Row] wrap it.
var ErrUndecodable = errors.New("undecodable response")

// APIError is an error answer from Binance (any HTTP status but 200), or a
// request the client refused to send.
type APIError struct {
	// Method and Endpoint are the request's: "GET", "/api/v3/klines".
	Method, Endpoint string
	// Status is the HTTP status code (0 when the request was not sent).
	Status int
	// Code and Msg are Binance's error code and message ({"code":-1121,
	// "msg":"Invalid symbol."}); when the body is not one, Code is 0 and Msg
	// the start of the body.
	Code int
	Msg  string
	// RetryAfter is the wait the server asked for in its Retry-After header
	// (HTTP 429 and 418); 0 when it did not say.
	RetryAfter time.Duration
	// BannedUntil is, for HTTP 418 (the IP is banned for having kept
	// sending after 429s), when the ban ends by the Retry-After header;
	// zero when the server did not say.
	BannedUntil time.Time
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("binance %s %s: HTTP %d", e.Method, e.Endpoint, e.Status)
	if e.Status == 0 {
		s = fmt.Sprintf("binance %s %s: not sent", e.Method, e.Endpoint)
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Code != 0 {
		s += fmt.Sprintf(" (code %d)", e.Code)
	}
	if !e.BannedUntil.IsZero() {
		s += fmt.Sprintf("; the IP is banned until %s", e.BannedUntil.UTC().Format(time.RFC3339))
	}
	return s
}

// decodeError reads a non-200 answer. now dates an HTTP-date Retry-After
// and the end of a ban.
func decodeError(method, endpoint string, status int, h http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{Method: method, Endpoint: endpoint, Status: status}
	var msg struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}
	if json.Unmarshal(body, &msg) == nil && (msg.Msg != "" || msg.Code != 0) {
		e.Code, e.Msg = msg.Code, shorten(msg.Msg, 200)
	} else {
		e.Msg = shorten(strings.TrimSpace(string(body)), 200)
	}
	if status == http.StatusTooManyRequests || status == http.StatusTeapot {
		if d := retryAfter(h.Get("Retry-After"), now); d >= 0 {
			e.RetryAfter = d
			if status == http.StatusTeapot {
				e.BannedUntil = now.Add(d)
			}
		}
	}
	return e
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); -1 when
// it is missing or unreadable.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return -1
	}
	if s, err := strconv.ParseInt(h, 10, 64); err == nil && s >= 0 {
		if s > int64(365*24*time.Hour/time.Second) { // not a wait anyone means
			return -1
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(0, t.Sub(now))
	}
	return -1
}

// shorten cuts s to at most n bytes (plus "…").
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n-- // not inside a character
	}
	return s[:n] + "…"
}
