package web

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tradai/tradai/internal/runs"
)

// compareRow is one figure of the compared runs; Differs when they do
// not all have the same value.
type compareRow struct {
	Label   string
	Values  []string
	Differs bool
}

// compareSeries is one run's equity as a return in percent.
type compareSeries struct {
	ID     string  `json:"id"`
	Label  string  `json:"label"`
	Points []point `json:"points"`
}

type compareView struct {
	Runs    []runRow
	Rows    []compareRow
	Series  []compareSeries
	Problem string
}

// compareFigures are the metrics the comparison shows, in order.
var compareFigures = []struct {
	key, label string
	format     func(float64) string
}{
	{"profit_total", "Total profit", pct},
	{"profit_total_abs", "Profit", num},
	{"total_trades", "Trades", func(x float64) string { return strconv.Itoa(int(x)) }},
	{"winrate", "Win rate", pct},
	{"max_drawdown_equity", "Max drawdown (equity)", pct},
	{"sharpe_daily_equity", "Sharpe (daily)", num2},
	{"sortino_daily_equity", "Sortino (daily)", num2},
	{"profit_factor", "Profit factor", num2},
	{"cagr", "CAGR", pct},
	{"final_balance", "Final balance", num},
}

func (s *Server) comparePage(w http.ResponseWriter, r *http.Request, sess *session) {
	var ids []string
	for _, id := range r.URL.Query()["id"] {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	v := compareView{}
	if len(ids) < 2 || len(ids) > 20 {
		v.Problem = "Pick 2 to 20 runs to compare (tick them in the runs list)."
		s.render(w, r, http.StatusOK, s.page(sess, "Compare runs", "runs", compareBody(v)))
		return
	}
	var (
		metrics []map[string]any
		params  []map[string]any
		rs      []runs.Run
	)
	for _, id := range ids {
		run, err := s.d.Runs.Get(r.Context(), sess.p, id)
		if errors.Is(err, runs.ErrNotFound) {
			s.notFound(w, r, sess)
			return
		}
		if err != nil {
			s.fail(w, r, sess, "reading run "+id, err)
			return
		}
		rs = append(rs, run)
		v.Runs = append(v.Runs, s.row(run))
		m, p := map[string]any{}, map[string]any{}
		_ = json.Unmarshal(run.Metrics, &m)
		_ = json.Unmarshal(run.Spec.Params, &p)
		metrics, params = append(metrics, m), append(params, p)
		if run.Status != runs.Completed {
			continue
		}
		res, _, err := s.readResult(r, sess, id)
		if err != nil {
			if !errors.Is(err, runs.ErrNotFound) && !errors.Is(err, runs.ErrArtifactNotStored) {
				s.fail(w, r, sess, "reading run "+id, err)
				return
			}
			continue
		}
		cs := compareSeries{ID: id, Label: id + " " + run.Spec.Strategy}
		for _, e := range res.Equity {
			ret := 0.0
			if res.StartingBalance > 0 {
				ret = (e.Equity/res.StartingBalance - 1) * 100
			}
			cs.Points = append(cs.Points, point{e.Time / 1000, ret})
		}
		v.Series = append(v.Series, cs)
	}
	add := func(label string, value func(i int) string) {
		row := compareRow{Label: label}
		for i := range rs {
			row.Values = append(row.Values, value(i))
			row.Differs = row.Differs || row.Values[i] != row.Values[0]
		}
		v.Rows = append(v.Rows, row)
	}
	add("Strategy", func(i int) string {
		if n := rs[i].Spec.StrategyVersion; n > 0 {
			return rs[i].Spec.Strategy + "@" + strconv.Itoa(n)
		}
		return rs[i].Spec.Strategy
	})
	add("Status", func(i int) string { return string(rs[i].Status) })
	add("Tags", func(i int) string { return v.Runs[i].Tags })
	for _, f := range compareFigures {
		add(f.label, func(i int) string {
			x, ok := metrics[i][f.key].(float64)
			if !ok {
				return ""
			}
			return f.format(x)
		})
	}
	names := map[string]bool{}
	for _, p := range params {
		for k := range p {
			names[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(names)) {
		add("Parameter "+k, func(i int) string {
			x, ok := params[i][k]
			if !ok {
				return "(default)"
			}
			b, _ := json.Marshal(x)
			return string(b)
		})
	}
	s.render(w, r, http.StatusOK, s.chartPage(sess, "Compare runs", "runs", compareBody(v)))
}
