package alpaca

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/exchange"
)

// session is one exchange day's trading windows, in absolute time.
type session struct {
	date       string    // the exchange's date, 2006-01-02
	from, till time.Time // the date's bounds: the cache is good between them
	trading    bool      // a trading day (false: weekend or holiday)
	open, shut time.Time // the regular session
	pre, post  time.Time // the extended sessions' bounds
}

// Session reads today's trading windows: GET /v2/clock for the exchange's
// date and its UTC offset (the timestamp is written in New York time),
// GET /v2/calendar for the day's hours. It is cached until the day ends.
func (c *Client) session(ctx context.Context) (*session, error) {
	now := c.clk.Now()
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s != nil && !now.Before(s.from) && now.Before(s.till) {
		return s, nil
	}
	var mc marketClock
	if err := c.do(ctx, request{path: "/v2/clock"}, &mc); err != nil {
		return nil, fmt.Errorf("read the market clock: %w", err)
	}
	_, off := mc.Timestamp.Zone()
	loc := time.FixedZone("ET", off)
	date := mc.Timestamp.In(loc).Format(time.DateOnly)
	var days []calendarDay
	if err := c.do(ctx, request{path: "/v2/calendar", query: url.Values{"start": {date}, "end": {date}}}, &days); err != nil {
		return nil, fmt.Errorf("read the market calendar of %s: %w", date, err)
	}
	s, err := sessionOf(date, loc, days)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()
	return s, nil
}

// sessionOf is date's session from a calendar answer (in loc's offset).
func sessionOf(date string, loc *time.Location, days []calendarDay) (*session, error) {
	d, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return nil, fmt.Errorf("market date %q: %w", date, err)
	}
	s := &session{date: date, from: d, till: d.Add(24 * time.Hour)}
	for _, cd := range days {
		if cd.Date != date {
			continue
		}
		var at [4]time.Time
		for i, v := range []string{cd.Open, cd.Close, cd.SessionOpen, cd.SessionClose} {
			if v == "" && i >= 2 { // no extended hours said: the regular ones
				at[i] = at[i-2]
				continue
			}
			m, err := wallClock(v)
			if err != nil {
				return nil, fmt.Errorf("market calendar of %s: %w", date, err)
			}
			at[i] = d.Add(m)
		}
		s.trading, s.open, s.shut, s.pre, s.post = true, at[0], at[1], at[2], at[3]
		if s.pre.After(s.open) {
			s.pre = s.open
		}
		if s.post.Before(s.shut) {
			s.post = s.shut
		}
	}
	return s, nil
}

// wallClock reads "09:30" or "0930" as the time since midnight.
func wallClock(v string) (time.Duration, error) {
	t := strings.ReplaceAll(v, ":", "")
	if len(t) != 4 {
		return 0, fmt.Errorf("time %q: want HH:MM", v)
	}
	h, err1 := strconv.Atoi(t[:2])
	m, err2 := strconv.Atoi(t[2:])
	if err1 != nil || err2 != nil || h < 0 || h > 24 || m < 0 || m > 59 || h*60+m > 24*60 {
		return 0, fmt.Errorf("time %q: want HH:MM", v)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// admit decides whether req may be placed at now: in the regular session
// always, in the extended sessions when allowed and it is a limit order
// (then ext is true: a day order with extended_hours); else refused.
func (s *session) admit(now time.Time, req exchange.OrderRequest, allowExt bool) (ext bool, err error) {
	if s.trading && !now.Before(s.open) && now.Before(s.shut) {
		return false, nil
	}
	inExt := s.trading && !now.Before(s.pre) && now.Before(s.post)
	refuse := func(why string) (bool, error) {
		return false, &exchange.Error{Kind: exchange.ErrRejected, HTTPStatus: http.StatusUnprocessableEntity, Msg: why}
	}
	switch {
	case !s.trading:
		return refuse(fmt.Sprintf("the market is closed on %s (weekend or holiday): no order placed", s.date))
	case !inExt || !allowExt:
		how := "regular session only; set extended hours to trade the pre- and after-market"
		if allowExt {
			how = "regular and extended sessions"
		}
		return refuse(fmt.Sprintf("the market is closed at %s ET (%s: %s–%s ET): no order placed", now.In(s.open.Location()).Format("15:04"),
			how, s.open.Format("15:04"), s.shut.Format("15:04")))
	case req.Type != exchange.LimitOrder:
		return refuse(fmt.Sprintf("outside the regular session (%s–%s ET) only limit orders are taken, not %s", s.open.Format("15:04"), s.shut.Format("15:04"), req.Type))
	}
	return true, nil
}
