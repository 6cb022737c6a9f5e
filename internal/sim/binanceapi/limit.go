package binanceapi

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/sim"
)

// limiter is Binance's REQUEST_WEIGHT limit per client IP and minute: past
// the limit a request is answered 429 with Retry-After (the seconds left in
// the minute); a client that sends more than banAfter requests into 429s in
// one minute is banned (418) for banFor.
type limiter struct {
	limit    int
	banAfter int
	banFor   time.Duration

	mu     sync.Mutex
	window int64 // Unix minute
	ips    map[string]*ipUse
}

type ipUse struct {
	used        int
	over        int
	bannedUntil time.Time
}

type verdict struct {
	used       int
	status     int // 0: go ahead; 429 or 418
	retryAfter int // seconds
	until      time.Time
}

func newLimiter(limit, banAfter int, banFor time.Duration) *limiter {
	return &limiter{limit: limit, banAfter: banAfter, banFor: banFor, ips: map[string]*ipUse{}}
}

// take counts weight w for ip at now.
func (l *limiter) take(ip string, w int, now time.Time) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	minute := now.Unix() / 60
	if minute != l.window {
		l.window = minute
		for k, u := range l.ips {
			if now.Before(u.bannedUntil) {
				u.used, u.over = 0, 0
				continue
			}
			delete(l.ips, k)
		}
	}
	u := l.ips[ip]
	if u == nil {
		u = &ipUse{}
		l.ips[ip] = u
	}
	if now.Before(u.bannedUntil) {
		return verdict{used: u.used, status: 418, retryAfter: int(u.bannedUntil.Sub(now).Seconds()) + 1, until: u.bannedUntil}
	}
	u.used += w
	if l.limit <= 0 || u.used <= l.limit {
		return verdict{used: u.used}
	}
	u.over++
	if u.over > l.banAfter {
		u.bannedUntil = now.Add(l.banFor)
		return verdict{used: u.used, status: 418, retryAfter: int(l.banFor.Seconds()), until: u.bannedUntil}
	}
	return verdict{used: u.used, status: 429, retryAfter: int(60 - now.Unix()%60)}
}

// OrderLimits are Binance's ORDERS rate limits per account: new orders
// per 10 seconds and per day (UTC) of the wall clock. Zero means Binance's
// 50 and 160,000; negative means none.
type OrderLimits struct {
	PerTenSeconds int
	PerDay        int
}

func (o *OrderLimits) defaults() {
	if o.PerTenSeconds == 0 {
		o.PerTenSeconds = 50
	}
	if o.PerDay == 0 {
		o.PerDay = 160_000
	}
}

// orderLimiter counts each account's new orders in the current 10-second
// window and UTC day. An order that fills completely when placed gives its
// count back at once (Binance counts unfilled orders); one that rests
// keeps it even when it fills later — stricter than Binance, which gives
// it back then.
type orderLimiter struct {
	lim OrderLimits

	mu    sync.Mutex
	accts map[string]*orderUse
}

type orderUse struct {
	window, day int64 // Unix time / 10 s, Unix day
	n10, nDay   int
}

type orderCounts struct{ tenSeconds, day int }

func newOrderLimiter(lim OrderLimits) *orderLimiter {
	return &orderLimiter{lim: lim, accts: map[string]*orderUse{}}
}

func (l *orderLimiter) use(account string, now time.Time) *orderUse {
	u := l.accts[account]
	if u == nil {
		u = &orderUse{}
		l.accts[account] = u
	}
	w, d := now.Unix()/10, now.Unix()/86400
	if u.window != w {
		u.window, u.n10 = w, 0
	}
	if u.day != d {
		u.day, u.nDay = d, 0
	}
	return u
}

// take counts one new order of account at now, or refuses it (-1015) when
// a limit is reached, with the seconds left in the full window; it
// returns the counts after.
func (l *orderLimiter) take(account string, now time.Time) (orderCounts, int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.use(account, now)
	switch {
	case l.lim.PerTenSeconds > 0 && u.n10 >= l.lim.PerTenSeconds:
		return orderCounts{u.n10, u.nDay}, int(10 - now.Unix()%10), tooManyOrders(l.lim.PerTenSeconds, "10 SECOND")
	case l.lim.PerDay > 0 && u.nDay >= l.lim.PerDay:
		return orderCounts{u.n10, u.nDay}, int(86400 - now.Unix()%86400), tooManyOrders(l.lim.PerDay, "DAY")
	}
	u.n10++
	u.nDay++
	return orderCounts{u.n10, u.nDay}, 0, nil
}

// giveBack undoes one take of account at now (an order that was rejected
// or filled at once); it returns the counts after.
func (l *orderLimiter) giveBack(account string, now time.Time) orderCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.use(account, now)
	u.n10, u.nDay = max(0, u.n10-1), max(0, u.nDay-1)
	return orderCounts{u.n10, u.nDay}
}

func tooManyOrders(limit int, interval string) error {
	return &sim.Error{Code: sim.CodeTooManyOrders, Msg: fmt.Sprintf("Too many new orders; current limit is %d orders per %s.", limit, interval)}
}

// Binance's ORDERS count headers on order placements.
const (
	headerOrders10s = "X-MBX-ORDER-COUNT-10S"
	headerOrders1d  = "X-MBX-ORDER-COUNT-1D"
)

func (c orderCounts) set(h http.Header) {
	h[headerOrders10s] = []string{strconv.Itoa(c.tenSeconds)}
	h[headerOrders1d] = []string{strconv.Itoa(c.day)}
}

// orderRateLimits are the ORDERS limits as exchangeInfo lists them.
func (s *Server) orderRateLimits() []rateLimit {
	var out []rateLimit
	if n := s.cfg.OrderLimits.PerTenSeconds; n > 0 {
		out = append(out, rateLimit{RateLimitType: "ORDERS", Interval: "SECOND", IntervalNum: 10, Limit: n})
	}
	if n := s.cfg.OrderLimits.PerDay; n > 0 {
		out = append(out, rateLimit{RateLimitType: "ORDERS", Interval: "DAY", IntervalNum: 1, Limit: n})
	}
	return out
}

// orderCountLimits are the WebSocket API's rateLimits entries for the
// ORDERS counts an order placement set in h.
func (s *Server) orderCountLimits(h http.Header) []apiRateLimit {
	var out []apiRateLimit
	for _, l := range s.orderRateLimits() {
		name := headerOrders10s
		if l.Interval == "DAY" {
			name = headerOrders1d
		}
		v := h[name]
		if len(v) == 0 {
			continue
		}
		n, _ := strconv.Atoi(v[0])
		out = append(out, apiRateLimit{RateLimitType: l.RateLimitType, Interval: l.Interval, IntervalNum: l.IntervalNum, Limit: l.Limit, Count: n})
	}
	return out
}
