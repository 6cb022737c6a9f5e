package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/tradai/tradai/internal/market"
)

// span is a stretch of a timeline in 0–1000 units of its width.
type span struct {
	X, W  int
	Title string
}

type seriesRow struct {
	Exchange, Pair, Timeframe, Type string
	First, Last, Count, Missing     string
	Freshness, FreshClass, Age      string
	Covered                         span
	Gaps                            []span
	GapCount                        int
}

type dataView struct {
	Rows       []seriesRow
	Start, End string
	Unreadable []string
	// Download offers the download form.
	Download bool
}

func (s *Server) dataPage(w http.ResponseWriter, r *http.Request, sess *session) {
	st, err := market.OpenWith(s.d.DataDir, s.d.Log, s.d.Market)
	if err != nil {
		s.fail(w, r, sess, "opening the market data", err)
		return
	}
	l, err := st.List(r.Context(), "")
	if err != nil {
		s.fail(w, r, sess, "listing the market data", err)
		return
	}
	v := dataView{Download: s.d.Downloads != nil}
	for _, u := range l.Unreadable {
		v.Unreadable = append(v.Unreadable, u.File+": "+u.Error)
	}
	if len(l.Series) == 0 {
		s.render(w, r, http.StatusOK, s.page(sess, "Data", "data", dataBody(v)))
		return
	}
	lo, hi := l.Series[0].First, l.Series[0].Last
	keys := make([]market.Key, 0, len(l.Series))
	for _, se := range l.Series {
		lo, hi = min(lo, se.First), max(hi, se.Last)
		keys = append(keys, se.Key)
	}
	fresh, err := st.Freshness(r.Context(), keys, s.now(), 0)
	if err != nil {
		s.fail(w, r, sess, "checking freshness", err)
		return
	}
	width := float64(max(hi-lo, 1))
	x := func(t int64) int { return int(float64(t-lo) / width * 1000) }
	v.Start, v.End = stamp(lo), stamp(hi)
	for i, se := range l.Series {
		row := seriesRow{
			Exchange: se.Exchange, Pair: se.Pair, Timeframe: string(se.Timeframe), Type: string(se.Type),
			First: stamp(se.First), Last: stamp(se.Last), Count: strconv.Itoa(se.Count), Missing: strconv.Itoa(se.Missing), GapCount: len(se.Gaps),
			Covered: span{X: x(se.First), W: max(x(se.Last)-x(se.First), 2), Title: stamp(se.First) + " – " + stamp(se.Last)},
		}
		for _, g := range se.Gaps {
			row.Gaps = append(row.Gaps, span{X: x(g.From), W: max(x(g.To)-x(g.From), 3), Title: "gap " + stamp(g.From) + " – " + stamp(g.To)})
		}
		if i < len(fresh) {
			f := fresh[i]
			row.Freshness, row.FreshClass = f.Status, f.Status
			if f.Status != market.Missing {
				row.Age = age(f.Age)
			}
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, http.StatusOK, s.page(sess, "Data", "data", dataBody(v)))
}

// age says how long ago, in the unit that reads best.
func age(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d >= 2*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	case d < time.Minute:
		return max(0, d).Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}
