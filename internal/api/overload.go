package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tradai/tradai/internal/api/apitype"
)

// overloadRetryAfter is the Retry-After of an overloaded answer, in
// seconds.
const overloadRetryAfter = 1

// shed bounds the /api/ requests served at once. Past the bound a request
// is answered at once, 503 overloaded with Retry-After, instead of waiting
// in line behind the others, where it would hold its connection until the
// client or the server gave up and closed it without an answer. /health,
// /ready, /metrics and the docs are never refused.
func (s *Server) shed(next http.Handler) http.Handler {
	slots := make(chan struct{}, s.o.MaxInFlight)
	shed := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tradai_http_requests_shed_total",
		Help: "API requests refused with 503 overloaded because the server already served as many as it may at once.",
	})
	s.reg.MustRegister(shed)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			shed.Inc()
			w.Header().Set("Retry-After", strconv.Itoa(overloadRetryAfter))
			writeProblem(w, r, problem(http.StatusServiceUnavailable, apitype.CodeOverloaded,
				"the server is serving as many requests as it can; nothing was done: send the request again after Retry-After"))
		}
	})
}
