package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/report"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/runs"
)

// runRow is a run as the list and the pages show it.
type runRow struct {
	ID, Strategy, Status, Created, Tags, Error string
	Version                                    int
	Progress                                   float64
	Active                                     bool
	Profit, Trades, Drawdown                   string
	ProfitClass                                string
}

func (s *Server) row(r runs.Run) runRow {
	v := runRow{
		ID: r.ID, Strategy: r.Spec.Strategy, Version: r.Spec.StrategyVersion, Status: string(r.Status),
		Created: r.Created.UTC().Format("2006-01-02 15:04:05"), Progress: r.Progress, Error: r.Error,
		Active: r.Status == runs.Queued || r.Status == runs.Running,
	}
	var tags []string
	for _, k := range slices.Sorted(maps.Keys(r.Spec.Tags)) {
		tags = append(tags, k+"="+r.Spec.Tags[k])
	}
	v.Tags = strings.Join(tags, " ")
	if len(r.Metrics) > 0 {
		var m struct {
			ProfitTotal float64 `json:"profit_total"`
			Trades      int     `json:"total_trades"`
			Drawdown    float64 `json:"max_drawdown_account"`
		}
		if json.Unmarshal(r.Metrics, &m) == nil {
			v.Profit, v.Trades, v.Drawdown = pct(m.ProfitTotal), strconv.Itoa(m.Trades), pct(m.Drawdown)
			v.ProfitClass = sign(m.ProfitTotal)
		}
	}
	return v
}

// runsFilter is the runs list's filter form, as the query holds it.
type runsFilter struct {
	Status, Strategy, Version, Tag, From, To string
}

func (f runsFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "strategy": f.Strategy, "version": f.Version, "tag": f.Tag, "from": f.From, "to": f.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// runsView is the runs list page.
type runsView struct {
	Filter   runsFilter
	Problem  string
	Rows     []runRow
	Next     string // the next page's URL; empty on the last
	Statuses []string
}

var statuses = []string{"queued", "running", "completed", "failed", "cancelled", "dead_letter"}

func (s *Server) runsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	v := runsView{Statuses: statuses, Filter: runsFilter{
		Status: q.Get("status"), Strategy: q.Get("strategy"), Version: q.Get("version"), Tag: q.Get("tag"), From: q.Get("from"), To: q.Get("to"),
	}}
	f, problem := parseFilter(v.Filter)
	if problem == "" {
		page, err := s.d.Runs.List(r.Context(), sess.p, f, q.Get("cursor"), s.o.PageSize)
		switch {
		case errors.Is(err, runs.ErrBadCursor):
			problem = "That page link is no longer valid; showing the first page."
			page, err = s.d.Runs.List(r.Context(), sess.p, f, "", s.o.PageSize)
		}
		if err != nil {
			s.fail(w, r, sess, "listing runs", err)
			return
		}
		v.Rows = make([]runRow, 0, len(page.Runs))
		for _, run := range page.Runs {
			v.Rows = append(v.Rows, s.row(run))
		}
		if page.Next != "" {
			nq := v.Filter.query()
			nq.Set("cursor", page.Next)
			v.Next = "/runs?" + nq.Encode()
		}
	}
	v.Problem = problem
	s.render(w, r, http.StatusOK, s.page(sess, "Runs", "runs", runsBody(v, sess.csrf)))
}

// parseFilter turns the form into a run filter, or says what is wrong.
func parseFilter(in runsFilter) (runs.Filter, string) {
	f := runs.Filter{Status: runs.Status(in.Status), Kind: runs.KindBacktest, Strategy: strings.TrimSpace(in.Strategy)}
	if in.Status != "" && !slices.Contains(statuses, in.Status) {
		return f, "Unknown status " + strconv.Quote(in.Status) + "."
	}
	if in.Version != "" {
		n, err := strconv.Atoi(in.Version)
		if err != nil || n < 1 {
			return f, "The version is a number from 1."
		}
		f.StrategyVersion = n
	}
	if t := strings.TrimSpace(in.Tag); t != "" {
		k, val, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return f, "A tag filter is key=value."
		}
		f.Tags = map[string]string{k: val}
	}
	for _, d := range []struct {
		text string
		into *time.Time
		add  int
	}{{in.From, &f.CreatedFrom, 0}, {in.To, &f.CreatedTo, 1}} {
		if d.text == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", d.text)
		if err != nil {
			return f, "Dates are YYYY-MM-DD."
		}
		*d.into = t.AddDate(0, 0, d.add) // "to" includes its day
	}
	return f, ""
}

// runStatus is the live status fragment of a run: it polls itself while
// the run is queued or running.
func (s *Server) runStatus(w http.ResponseWriter, r *http.Request, sess *session) {
	run, err := s.d.Runs.Get(r.Context(), sess.p, r.PathValue("id"))
	switch {
	case errors.Is(err, runs.ErrNotFound):
		s.render(w, r, http.StatusNotFound, statusNote("not found"))
	case err != nil:
		s.d.Log.Error("web: run status", "err", err)
		s.render(w, r, http.StatusInternalServerError, statusNote("status unavailable"))
	default:
		s.render(w, r, http.StatusOK, statusCell(s.row(run)))
	}
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request, sess *session) (runs.Run, bool) {
	run, err := s.d.Runs.Get(r.Context(), sess.p, r.PathValue("id"))
	if errors.Is(err, runs.ErrNotFound) {
		s.notFound(w, r, sess)
		return runs.Run{}, false
	}
	if err != nil {
		s.fail(w, r, sess, "reading the run", err)
		return runs.Run{}, false
	}
	return run, true
}

// readResult is a completed run's result.json, read back.
func (s *Server) readResult(r *http.Request, sess *session, id string) (*result.Result, metrics.Report, error) {
	a, err := s.d.Runs.ArtifactContent(r.Context(), sess.p, id, "result.json")
	if err != nil {
		return nil, metrics.Report{}, err
	}
	res, m, err := report.ReadJSON(bytes.NewReader(a.Content))
	if err != nil {
		return nil, metrics.Report{}, fmt.Errorf("read result.json of run %s: %w", id, err)
	}
	return res, m, nil
}

// card is one figure on a run's page.
type card struct{ Label, Value, Class string }

type stepRow struct{ Name, Status, Took, Detail, Error string }

type tradeRow struct {
	Pair, Side, Open, Close, Duration, Reason, Tag string
	OpenRate, CloseRate, Profit, ProfitAbs         string
	ProfitClass                                    string
}

type groupRow struct {
	Key, Trades, Profit, ProfitAbs, Winrate, Duration string
	ProfitClass                                       string
}

type monthRow struct{ Month, Return, Class string }

// tradeQuery is the trade table's sort and filter.
type tradeQuery struct {
	Sort, Dir, Pair, Reason string
	Page                    int
}

// runView is a run's page.
type runView struct {
	Run        runRow
	Steps      []stepRow
	Params     string
	Done       bool
	Cards      []card
	Pairs      []string
	Reasons    []string
	Pair       string
	Trades     []tradeRow
	TradeQ     tradeQuery
	TradeCount int
	PrevTrades string
	NextTrades string
	PerPair    []groupRow
	PerExit    []groupRow
	Monthly    []monthRow
	Report     bool
}

const tradesPerPage = 100

func (s *Server) runPage(w http.ResponseWriter, r *http.Request, sess *session) {
	run, ok := s.getRun(w, r, sess)
	if !ok {
		return
	}
	v := runView{Run: s.row(run), Params: string(run.Spec.Params), Done: run.Status == runs.Completed}
	steps, err := s.d.Runs.Steps(r.Context(), sess.p, run.ID)
	if err != nil {
		s.fail(w, r, sess, "reading the run's steps", err)
		return
	}
	for _, st := range steps {
		sr := stepRow{Name: st.Name, Status: string(st.Status), Detail: st.Detail, Error: st.Error}
		if !st.Finished.IsZero() {
			sr.Took = st.Finished.Sub(st.Started).Round(time.Millisecond).String()
		}
		v.Steps = append(v.Steps, sr)
	}
	if v.Done {
		res, m, err := s.readResult(r, sess, run.ID)
		if err != nil && !errors.Is(err, runs.ErrNotFound) && !errors.Is(err, runs.ErrArtifactNotStored) {
			s.fail(w, r, sess, "reading the run's result", err)
			return
		}
		if res != nil {
			q := r.URL.Query()
			page, _ := strconv.Atoi(q.Get("tpage"))
			v.TradeQ = tradeQuery{Sort: q.Get("sort"), Dir: q.Get("dir"), Pair: q.Get("pair"), Reason: q.Get("reason"), Page: max(page, 0)}
			s.fillResult(&v, run.ID, res, m)
		}
		if _, err := s.d.Runs.ArtifactContent(r.Context(), sess.p, run.ID, "report.html"); err == nil {
			v.Report = true
		}
	}
	s.render(w, r, http.StatusOK, s.chartPage(sess, "Run "+run.ID, "runs", runBody(v)))
}

func (s *Server) fillResult(v *runView, id string, res *result.Result, m metrics.Report) {
	sm := m.Summary
	cur := res.StakeCurrency
	v.Cards = []card{
		{"Total profit", pct(sm.ProfitTotal), sign(sm.ProfitTotal)},
		{"Profit", num(sm.ProfitTotalAbs) + " " + cur, sign(sm.ProfitTotalAbs)},
		{"Trades", strconv.Itoa(sm.TotalTrades), ""},
		{"Win rate", pct(sm.Winrate), ""},
		{"Max drawdown (equity)", pct(sm.MaxDrawdownEquity), ""},
		{"Sharpe (daily)", num2(sm.SharpeDaily), ""},
		{"Sortino (daily)", num2(sm.SortinoDaily), ""},
		{"Profit factor", num2(sm.ProfitFactor), ""},
		{"CAGR", pct(sm.CAGR), sign(sm.CAGR)},
		{"Market change", pct(sm.MarketChange), sign(sm.MarketChange)},
		{"Final balance", num(sm.FinalBalance) + " " + cur, ""},
		{"Days", strconv.Itoa(sm.BacktestDays), ""},
	}
	v.Pairs = res.Pairs
	v.Pair = v.TradeQ.Pair
	if v.Pair == "" && len(res.Pairs) > 0 {
		v.Pair = res.Pairs[0]
	}
	reasons := map[string]bool{}
	trades := make([]int, 0, len(res.Trades))
	for i, t := range res.Trades {
		reasons[string(t.ExitReason)] = true
		if (v.TradeQ.Pair == "" || t.Pair == v.TradeQ.Pair) && (v.TradeQ.Reason == "" || string(t.ExitReason) == v.TradeQ.Reason) {
			trades = append(trades, i)
		}
	}
	v.Reasons = slices.Sorted(maps.Keys(reasons))
	key := func(i int) float64 {
		t := res.Trades[i]
		switch v.TradeQ.Sort {
		case "profit":
			return t.ProfitRatio
		case "duration":
			return float64(t.CloseTime - t.OpenTime)
		case "close":
			return float64(t.CloseTime)
		}
		return float64(t.OpenTime)
	}
	slices.SortStableFunc(trades, func(a, b int) int {
		c := cmp.Compare(key(a), key(b))
		if v.TradeQ.Dir == "desc" {
			return -c
		}
		return c
	})
	v.TradeCount = len(trades)
	from := min(v.TradeQ.Page*tradesPerPage, len(trades))
	to := min(from+tradesPerPage, len(trades))
	for _, i := range trades[from:to] {
		t := res.Trades[i]
		side := "long"
		if t.IsShort {
			side = "short"
		}
		v.Trades = append(v.Trades, tradeRow{
			Pair: t.Pair, Side: side, Open: stamp(t.OpenTime), Close: stamp(t.CloseTime),
			Duration: (time.Duration(t.CloseTime-t.OpenTime) * time.Millisecond).String(), Reason: string(t.ExitReason), Tag: t.EnterTag,
			OpenRate: price(t.OpenRate), CloseRate: price(t.CloseRate), Profit: pct(t.ProfitRatio), ProfitAbs: num(t.ProfitAbs), ProfitClass: sign(t.ProfitRatio),
		})
	}
	pageURL := func(p int) string {
		q := url.Values{}
		for k, val := range map[string]string{"sort": v.TradeQ.Sort, "dir": v.TradeQ.Dir, "pair": v.TradeQ.Pair, "reason": v.TradeQ.Reason} {
			if val != "" {
				q.Set(k, val)
			}
		}
		q.Set("tpage", strconv.Itoa(p))
		return "/runs/" + id + "?" + q.Encode() + "#trades"
	}
	if from > 0 {
		v.PrevTrades = pageURL(v.TradeQ.Page - 1)
	}
	if to < len(trades) {
		v.NextTrades = pageURL(v.TradeQ.Page + 1)
	}
	v.PerPair, v.PerExit = groups(m.PerPair), groups(m.PerExitReason)
	v.Monthly = monthly(m.Daily, sm.StartingBalance)
}

func groups(gs []metrics.Group) []groupRow {
	out := make([]groupRow, 0, len(gs))
	for _, g := range gs {
		out = append(out, groupRow{Key: g.Key, Trades: strconv.Itoa(g.Trades), Profit: pct(g.ProfitTotal), ProfitAbs: num(g.ProfitTotalAbs),
			Winrate: pct(g.Winrate), Duration: (time.Duration(g.DurationAvg) * time.Minute).String(), ProfitClass: sign(g.ProfitTotal)})
	}
	return out
}

// monthly is the return of each calendar month from the daily equity.
func monthly(days []metrics.Day, start float64) []monthRow {
	var out []monthRow
	prev := start
	for i, d := range days {
		if i+1 < len(days) && days[i+1].Date[:7] == d.Date[:7] {
			continue
		}
		ret := 0.0
		if prev > 0 {
			ret = d.Equity/prev - 1
		}
		out = append(out, monthRow{Month: d.Date[:7], Return: pct(ret), Class: sign(ret)})
		prev = d.Equity
	}
	return out
}

// runReport serves the run's self-contained HTML report in a sandbox: its
// inline scripts run in an opaque origin without the session's cookie.
func (s *Server) runReport(w http.ResponseWriter, r *http.Request, sess *session) {
	a, err := s.d.Runs.ArtifactContent(r.Context(), sess.p, r.PathValue("id"), "report.html")
	if errors.Is(err, runs.ErrNotFound) || errors.Is(err, runs.ErrArtifactNotStored) {
		s.notFound(w, r, sess)
		return
	}
	if err != nil {
		s.fail(w, r, sess, "reading the report", err)
		return
	}
	writeReport(w, a.Content, false)
}

// writeReport answers an HTML report in a sandbox: its scripts run in an
// opaque origin, without the session. A framed report may be shown in a
// frame of the app's own pages (a study's shows its overfitting part).
func writeReport(w http.ResponseWriter, html []byte, framed bool) {
	csp := "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
	if framed {
		csp += "; frame-ancestors 'self'"
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
	}
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(html)
}

// point is one value of a line chart (time in Unix seconds, as
// lightweight-charts takes it).
type point struct {
	Time  int64   `json:"time"`
	Value float64 `json:"value"`
}

// runChart is a completed run's equity, drawdown and benchmark as JSON.
func (s *Server) runChart(w http.ResponseWriter, r *http.Request, sess *session) {
	res, _, err := s.readResult(r, sess, r.PathValue("id"))
	if errors.Is(err, runs.ErrNotFound) || errors.Is(err, runs.ErrArtifactNotStored) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.d.Log.Error("web: chart", "err", err)
		http.Error(w, "reading the run's result failed", http.StatusInternalServerError)
		return
	}
	writeJSON(w, equityChart(res))
}

type equityData struct {
	Equity    []point `json:"equity"`
	Drawdown  []point `json:"drawdown"`
	Benchmark []point `json:"benchmark"`
}

func equityChart(res *result.Result) equityData {
	pts := make([]point, 0, len(res.Equity))
	for _, e := range res.Equity {
		pts = append(pts, point{e.Time / 1000, e.Equity})
	}
	out := equityOf(pts)
	for _, e := range res.Benchmark {
		out.Benchmark = append(out.Benchmark, point{e.Time / 1000, e.Equity})
	}
	return out
}

// equityOf is an equity curve with its drawdown in percent.
func equityOf(equity []point) equityData {
	out := equityData{Equity: equity, Drawdown: make([]point, 0, len(equity))}
	peak := math.Inf(-1)
	for _, e := range equity {
		peak = max(peak, e.Value)
		dd := 0.0
		if peak > 0 {
			dd = (e.Value/peak - 1) * 100
		}
		out.Drawdown = append(out.Drawdown, point{e.Time, dd})
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, no-cache")
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// Formatting: what the pages print for numbers and times.

func pct(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(x*100, 'f', 2, 64) + "%"
}

func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(x, 'f', 4, 64)
}

func num2(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

func price(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }

func sign(x float64) string {
	switch {
	case x > 0:
		return "pos"
	case x < 0:
		return "neg"
	}
	return ""
}

func stamp(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04")
}
