package api

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/tenancy"
)

// limiters is a set of token buckets by key, bounded: a bucket idle long
// enough to have refilled is dropped (it is then the same as a new one, so
// nothing is lost), and at most max buckets are kept (the least recently
// used goes first). Time comes from clock.
type limiters struct {
	limit rate.Limit
	burst int
	max   int
	clock clock.Clock

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	l    *rate.Limiter
	used time.Time
}

func newLimiters(perSecond float64, burst, max int, clk clock.Clock) *limiters {
	return &limiters{limit: rate.Limit(perSecond), burst: burst, max: max, clock: clk, buckets: map[string]*bucket{}}
}

// idle is how long a bucket takes to refill completely.
func (ls *limiters) idle() time.Duration {
	return time.Duration(float64(ls.burst) / float64(ls.limit) * float64(time.Second))
}

// get returns key's bucket, made when missing; ls.mu is held.
func (ls *limiters) get(key string, now time.Time) *bucket {
	if now.Sub(ls.lastSweep) >= ls.idle() {
		ls.lastSweep = now
		for k, b := range ls.buckets {
			if now.Sub(b.used) >= ls.idle() {
				delete(ls.buckets, k)
			}
		}
	}
	b, ok := ls.buckets[key]
	if !ok {
		if len(ls.buckets) >= ls.max {
			var oldest string
			for k, c := range ls.buckets {
				if oldest == "" || c.used.Before(ls.buckets[oldest].used) {
					oldest = k
				}
			}
			delete(ls.buckets, oldest)
		}
		b = &bucket{l: rate.NewLimiter(ls.limit, ls.burst)}
		ls.buckets[key] = b
	}
	b.used = now
	return b
}

// take takes one request from key's bucket; when it is empty it says how
// long until the next request would be allowed.
func (ls *limiters) take(key string) (time.Duration, bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	now := ls.clock.Now()
	r := ls.get(key, now).l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// wait says how long until key's bucket has a request left (0 when it has
// one now), without taking it.
func (ls *limiters) wait(key string) time.Duration {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	b, ok := ls.buckets[key]
	if !ok {
		return 0
	}
	now := ls.clock.Now()
	if left := b.l.TokensAt(now); left < 1 {
		return time.Duration((1 - left) / float64(ls.limit) * float64(time.Second))
	}
	return 0
}

// size is the number of buckets kept.
func (ls *limiters) size() int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return len(ls.buckets)
}

var (
	errNoToken     = errors.New("no API token: send Authorization: Bearer <token> (create one with tradai tokens create)")
	errNotBearer   = errors.New("the Authorization header must be Bearer <token>")
	errBadTokenSyn = errors.New("the Authorization header must be Bearer <token>, with one space and the token's characters only")
)

// bearerToken is the token of an Authorization header value: the scheme
// Bearer (any case), exactly one space, and a token68 (RFC 6750: letters,
// digits and -._~+/, then optional '='), nothing else. One strict parser:
// every spelling of a header that authenticates is the same token.
func bearerToken(h string) (string, error) {
	if h == "" {
		return "", errNoToken
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errNotBearer
	}
	if token == "" || len(token) > 512 {
		return "", errBadTokenSyn
	}
	body := strings.TrimRight(token, "=")
	if body == "" {
		return "", errBadTokenSyn
	}
	for i := range len(body) {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return "", errBadTokenSyn
		}
	}
	return token, nil
}

// clientAddress is who a request comes from, for limiting failed
// authentication: the connection's address, or with trustForwarded the
// last address of X-Forwarded-For (the one the proxy in front added).
// IPv6 addresses count by /64, the block one machine usually gets.
func clientAddress(remoteAddr, forwarded string, trustForwarded bool) string {
	addr := remoteAddr
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		addr = host
	}
	if trustForwarded && forwarded != "" {
		parts := strings.Split(forwarded, ",")
		addr = strings.TrimSpace(parts[len(parts)-1])
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// TakeRequest takes one request from p's rate limit, the one the API's
// calls take too (the web app's pages share it), or says how long to wait.
func (s *Server) TakeRequest(p tenancy.Principal) (time.Duration, bool) {
	return s.requests.take(p.Tenant + "/" + p.User)
}

// AuthWait is how long r's client address must wait before its next
// authentication, after too many failed ones (0: it may try now).
func (s *Server) AuthWait(r *http.Request) time.Duration {
	return s.failures.wait(clientAddress(r.RemoteAddr, r.Header.Get("X-Forwarded-For"), s.o.TrustForwardedFor))
}

// AuthFailed counts a failed authentication of r's client address.
func (s *Server) AuthFailed(r *http.Request) {
	s.failures.take(clientAddress(r.RemoteAddr, r.Header.Get("X-Forwarded-For"), s.o.TrustForwardedFor))
}
