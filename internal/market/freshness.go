package market

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Freshness states.
const (
	Fresh   = "fresh"
	Stale   = "stale"
	Missing = "missing"
)

// Freshness says how up to date one series is.
type Freshness struct {
	Key
	// Status is Fresh, Stale or Missing (nothing stored, or unreadable:
	// see Error).
	Status string `json:"status"`
	// Last is the open time (Unix ms) of the last stored candle and
	// LastClose its close time; Age is how long ago it closed.
	Last      int64         `json:"last,omitempty"`
	LastClose int64         `json:"last_close,omitempty"`
	Age       time.Duration `json:"-"`
	Count     int           `json:"count"`
	// MaxAge is the age beyond which the series is stale.
	MaxAge time.Duration `json:"-"`
	Error  string        `json:"error,omitempty"`
}

// MarshalJSON writes r with its ages in seconds ("age_seconds",
// "max_age_seconds"; age_seconds is absent for a missing series).
func (r Freshness) MarshalJSON() ([]byte, error) {
	type plain Freshness
	out := struct {
		plain
		AgeSeconds    *float64 `json:"age_seconds,omitempty"`
		MaxAgeSeconds float64  `json:"max_age_seconds"`
	}{plain: plain(r), MaxAgeSeconds: r.MaxAge.Seconds()}
	if r.Status != Missing {
		age := r.Age.Seconds()
		out.AgeSeconds = &age
	}
	return json.Marshal(out)
}

// DefaultMaxAge is the staleness threshold used when none is given: two
// candles of tf, so a series is fresh while it lacks at most the candle that
// closed last.
func DefaultMaxAge(k Key) time.Duration { return 2 * k.Timeframe.Duration() }

// Freshness reports, for each key, its last stored candle, how long ago that
// candle closed (at now) and whether that is within maxAge (zero means
// [DefaultMaxAge] per series). A series not stored, or not readable, is
// Missing. A key that fails [Key.Validate] refuses the whole call (the
// error wraps [ErrInvalidName]); otherwise only a cancelled context is an
// error. With a [Remote], a series in the bucket is described as the
// bucket's index has it (what a read would fetch), without fetching it.
func (s *Store) Freshness(ctx context.Context, keys []Key, now time.Time, maxAge time.Duration) ([]Freshness, error) {
	for _, k := range keys {
		if err := k.normal().Validate(); err != nil {
			return nil, err
		}
	}
	out := make([]Freshness, 0, len(keys))
	indexes := map[string]map[string]Series{} // read once per exchange
	down := map[string]bool{}                 // exchanges whose bucket index could not be read
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k = k.normal()
		r := Freshness{Key: k, Status: Missing, MaxAge: maxAge}
		if maxAge <= 0 {
			r.MaxAge = DefaultMaxAge(k)
		}
		idx, ok := indexes[k.Exchange]
		if !ok {
			idx = s.readIndex(k.Exchange)
			indexes[k.Exchange] = idx
		}
		info, err := s.freshCoverage(ctx, k, idx, down)
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return nil, err
		case err != nil:
			if !errors.Is(err, ErrNotFound) {
				r.Error = s.relErr(err)
			}
		default:
			r.Last, r.LastClose, r.Count = info.Last, k.Timeframe.Next(info.Last), info.Count
			r.Age = now.Sub(time.UnixMilli(r.LastClose))
			r.Status = Fresh
			if r.Age > r.MaxAge {
				r.Status = Stale
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// AllFresh reports whether every series in rs is fresh.
func AllFresh(rs []Freshness) bool {
	for _, r := range rs {
		if r.Status != Fresh {
			return false
		}
	}
	return true
}

// freshCoverage is the coverage of k a read would see: the bucket's entry
// when it has one, else the local copy's (idx is the local index). The
// first failure to read an exchange's bucket index is logged and noted in
// down, which skips the bucket for that exchange's other series.
func (s *Store) freshCoverage(ctx context.Context, k Key, idx map[string]Series, down map[string]bool) (Series, error) {
	if s.remote != nil && !down[k.Exchange] {
		e, ok, err := s.remoteEntry(ctx, k, false)
		if err != nil {
			down[k.Exchange] = true
			s.remoteDown(err)
		}
		if ok {
			return e, nil
		}
	}
	return s.coverage(ctx, k, idx)
}
