package config

import (
	"fmt"
	"strings"
	"time"
)

// Timerange is a half-open UTC interval [Start, End) in Unix milliseconds;
// 0 means unbounded on that side.
type Timerange struct {
	Start, End int64
}

// ParseTimerange reads Freqtrade's notation: "YYYYMMDD-YYYYMMDD",
// "YYYYMMDD-" (from a date on) or "-YYYYMMDD" (up to a date). The end date
// is exclusive: 20180101-20180201 covers all of January 2018.
func ParseTimerange(s string) (Timerange, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return Timerange{}, fmt.Errorf("%q is not YYYYMMDD-YYYYMMDD", s)
	}
	var tr Timerange
	var err error
	if from != "" {
		if tr.Start, err = parseDay(from); err != nil {
			return Timerange{}, fmt.Errorf("%q: start: %w", s, err)
		}
	}
	if to != "" {
		if tr.End, err = parseDay(to); err != nil {
			return Timerange{}, fmt.Errorf("%q: end: %w", s, err)
		}
	}
	if from == "" && to == "" {
		return Timerange{}, fmt.Errorf("%q names neither a start nor an end", s)
	}
	if tr.Start != 0 && tr.End != 0 && tr.End <= tr.Start {
		return Timerange{}, fmt.Errorf("%q: end is not after start", s)
	}
	return tr, nil
}

func parseDay(s string) (int64, error) {
	if len(s) != 8 {
		return 0, fmt.Errorf("%q is not a YYYYMMDD date", s)
	}
	t, err := time.Parse("20060102", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a YYYYMMDD date", s)
	}
	return t.UnixMilli(), nil
}

// Contains reports whether ms lies in the range.
func (tr Timerange) Contains(ms int64) bool {
	return (tr.Start == 0 || ms >= tr.Start) && (tr.End == 0 || ms < tr.End)
}
