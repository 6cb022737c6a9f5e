package binanceapi

import (
	"sync"
	"time"
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
