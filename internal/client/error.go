package client

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
)

// Error is an error answer of the API.
type Error struct {
	// Op says what failed in the user's terms, with the URL:
	// "submit backtest to http://127.0.0.1:8080/api/v1/backtests".
	Op string
	// Status is the HTTP status code.
	Status int
	// Code is the problem's stable code (apitype.CodeNotFound …); empty when
	// the answer was not a problem document (e.g. a proxy's error page).
	Code string
	// Detail says what went wrong in this request.
	Detail string
	// RetryAfter is the wait the server asked for (429, 503), else 0.
	RetryAfter time.Duration
	// Problem is the whole problem document, nil when there was none.
	Problem *apitype.Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	} else if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.RetryAfter > 0 && e.Status == http.StatusTooManyRequests {
		b.WriteString(" (retry after " + e.RetryAfter.String() + ")")
	}
	return b.String()
}
