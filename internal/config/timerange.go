package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Timerange is a half-open UTC interval [Start, End) in Unix milliseconds;
// 0 means unbounded on that side.
type Timerange struct {
	Start, End int64
}

// timerangeForm is how a time range is written, for error messages.
const timerangeForm = "want YYYYMMDD-YYYYMMDD (end exclusive), e.g. 20180115-20180125; either side may be empty (20180115-), and each side may be Unix seconds or milliseconds (1515974400-1516406400)"

// ParseTimerange reads Freqtrade's notation: "YYYYMMDD-YYYYMMDD",
// "YYYYMMDD-" (from a date on) or "-YYYYMMDD" (up to a date), each side
// also as Unix seconds (10 digits) or milliseconds (13 digits), as
// Freqtrade accepts them. The end is exclusive: 20180101-20180201 covers
// all of January 2018.
func ParseTimerange(s string) (Timerange, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok || strings.Contains(to, "-") {
		return Timerange{}, fmt.Errorf("%q: %s", s, timerangeForm)
	}
	var tr Timerange
	var err error
	if from != "" {
		if tr.Start, err = parseBound(from); err != nil {
			return Timerange{}, fmt.Errorf("%q: start: %w; %s", s, err, timerangeForm)
		}
	}
	if to != "" {
		if tr.End, err = parseBound(to); err != nil {
			return Timerange{}, fmt.Errorf("%q: end: %w; %s", s, err, timerangeForm)
		}
	}
	if from == "" && to == "" {
		return Timerange{}, fmt.Errorf("%q names neither a start nor an end: %s", s, timerangeForm)
	}
	if tr.Start != 0 && tr.End != 0 && tr.End <= tr.Start {
		return Timerange{}, fmt.Errorf("%q: end is not after start", s)
	}
	return tr, nil
}

// parseBound reads one side of a time range: a YYYYMMDD date (UTC), Unix
// seconds (10 digits) or Unix milliseconds (13 digits).
func parseBound(s string) (int64, error) {
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a YYYYMMDD date or a Unix time", s)
		}
	}
	switch len(s) {
	case 8:
		t, err := time.Parse("20060102", s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a YYYYMMDD date", s)
		}
		return t.UnixMilli(), nil
	case 10, 13:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a Unix time", s)
		}
		if len(s) == 10 {
			n *= 1000
		}
		return n, nil
	}
	return 0, fmt.Errorf("%q is not a YYYYMMDD date (8 digits) or a Unix time (10 digits for seconds, 13 for milliseconds)", s)
}

// Contains reports whether ms lies in the range.
func (tr Timerange) Contains(ms int64) bool {
	return (tr.Start == 0 || ms >= tr.Start) && (tr.End == 0 || ms < tr.End)
}
