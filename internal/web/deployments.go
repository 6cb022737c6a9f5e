package web

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
)

// problemOf is err as the API's problem, or nil when it is not one.
func problemOf(err error) *apitype.Problem {
	var p *apitype.Problem
	if errors.As(err, &p) {
		return p
	}
	return nil
}

// opFailed answers the page for an operation's error: not found (another
// tenant's things too) is the 404 page, a refusal is shown with its
// reason, anything else is a server failure.
func (s *Server) opFailed(w http.ResponseWriter, r *http.Request, sess *session, what string, err error) {
	p := problemOf(err)
	switch {
	case p != nil && p.Status == http.StatusNotFound:
		s.notFound(w, r, sess)
	case p != nil && p.Status < 500:
		s.render(w, r, p.Status, s.page(sess, "Refused", "", errorBody("Not done", p.Detail)))
	default:
		s.fail(w, r, sess, what, err)
	}
}

// fragmentFailed answers a live fragment's error: a note that ends its
// polling (another tenant's deployment is a 404 too).
func (s *Server) fragmentFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	if p := problemOf(err); p != nil && p.Status == http.StatusNotFound {
		s.render(w, r, http.StatusNotFound, statusNote("not found"))
		return
	}
	s.d.Log.Error("web: "+what, "path", r.URL.Path, "err", err)
	s.render(w, r, http.StatusInternalServerError, statusNote(what+" failed"))
}

// deploymentRow is a deployment as the list and its page show it.
type deploymentRow struct {
	ID, Strategy, Mode, Venue, Account, Pairs, Timeframe string
	State, Error, Created, LastTick, Heartbeat, Runner   string
	Stale, Terminal, Flatten                             bool
	HasSummary                                           bool
	OpenTrades, ClosedTrades, OrdersToday                string
	Trades                                               string // open and closed
	Equity, Starting, Realised, Unrealised, PnL, PnLPct  string
	PnLClass, EquityAt                                   string
}

func deploymentRowOf(d apitype.Deployment) deploymentRow {
	v := deploymentRow{ID: d.ID, Strategy: d.Strategy, Mode: d.Mode, Venue: d.Venue, Account: d.Account, Pairs: strings.Join(d.Pairs, ", "),
		Timeframe: d.Timeframe, State: d.State, Error: d.Error, Created: d.CreatedAt.Format("2006-01-02 15:04"), Runner: d.Runner,
		Stale: d.Stale, Terminal: d.State == "stopped" || d.State == "failed", Flatten: d.Flatten}
	if d.StrategyVersion > 0 {
		v.Strategy += "@" + strconv.Itoa(d.StrategyVersion)
	}
	if d.LastTick != nil {
		v.LastTick = d.LastTick.Format("2006-01-02 15:04")
	}
	if d.Heartbeat != nil {
		v.Heartbeat = age(time.Duration(d.HeartbeatAge*float64(time.Second))) + " ago"
	}
	if sm := d.Summary; sm != nil {
		pnl := sm.Equity - sm.StartingBalance
		v.HasSummary = true
		v.OpenTrades, v.ClosedTrades, v.OrdersToday = strconv.Itoa(sm.OpenTrades), strconv.Itoa(sm.ClosedTrades), strconv.Itoa(sm.OrdersToday)
		v.Trades = strconv.Itoa(sm.OpenTrades + sm.ClosedTrades)
		v.Equity, v.Starting, v.Realised, v.Unrealised, v.PnL = price(sm.Equity), price(sm.StartingBalance), price(sm.RealisedProfit), price(sm.UnrealisedProfit), price(pnl)
		v.PnLClass = sign(pnl)
		if sm.StartingBalance > 0 {
			v.PnLPct = pct(pnl / sm.StartingBalance)
		}
		if sm.EquityAt != nil {
			v.EquityAt = sm.EquityAt.Format("2006-01-02 15:04")
		}
	}
	return v
}

// maxSummaries bounds how many deployments of the list get their summary
// (open trades, equity, profit) read: the newest.
const maxSummaries = 100

// deploymentRows are the tenant's deployments, newest first, the newest
// maxSummaries with their summaries.
func (s *Server) deploymentRows(r *http.Request, sess *session) ([]deploymentRow, error) {
	list, err := s.d.Deployments.List(r.Context(), sess.p)
	if err != nil {
		return nil, err
	}
	out := make([]deploymentRow, 0, len(list.Deployments))
	for i, d := range list.Deployments {
		if i < maxSummaries {
			full, err := s.d.Deployments.Get(r.Context(), sess.p, d.ID)
			if err == nil {
				d = full
			} else if p := problemOf(err); p == nil || p.Status != http.StatusNotFound {
				return nil, err
			}
		}
		out = append(out, deploymentRowOf(d))
	}
	return out, nil
}

func (s *Server) deploymentsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	rows, err := s.deploymentRows(r, sess)
	if err != nil {
		s.opFailed(w, r, sess, "listing deployments", err)
		return
	}
	s.render(w, r, http.StatusOK, s.page(sess, "Deployments", "deployments", deploymentsBody(rows)))
}

// deploymentsRows is the list's table body, which the page polls.
func (s *Server) deploymentsRows(w http.ResponseWriter, r *http.Request, sess *session) {
	rows, err := s.deploymentRows(r, sess)
	if err != nil {
		s.fragmentFailed(w, r, "listing deployments", err)
		return
	}
	s.render(w, r, http.StatusOK, deploymentRowsBody(rows))
}

// logTail is how many log lines a deployment's page opens with.
const logTail = 200

type logRow struct{ Seq, Time, Level, Msg, Attrs string }

// logView is lines of a deployment's log and where the next poll reads
// on.
type logView struct {
	ID    string
	Lines []logRow
	Next  int64
	Live  bool
}

func logRows(page apitype.LogPage) []logRow {
	out := make([]logRow, 0, len(page.Lines))
	for _, l := range page.Lines {
		var attrs []string
		for _, k := range slices.Sorted(maps.Keys(l.Attrs)) {
			attrs = append(attrs, k+"="+l.Attrs[k])
		}
		out = append(out, logRow{Seq: strconv.FormatInt(l.Seq, 10), Time: l.Time.Format("01-02 15:04:05"), Level: l.Level, Msg: l.Msg, Attrs: strings.Join(attrs, " ")})
	}
	return out
}

type positionRow struct{ Pair, Seq, Qty, OpenRate, Stake, Opened, StopLoss, Tag string }

type dtradeRow struct {
	Seq, Pair, Opened, Closed, OpenRate, CloseRate, Amount, Stake, Reason, Profit, ProfitAbs, ProfitClass, Tag string
	Open                                                                                                       bool
}

type orderRow struct{ Created, ID, Leg, Pair, Side, Type, Status, Price, Qty, Executed, Reason string }

type deploymentView struct {
	D         deploymentRow
	Positions []positionRow
	Trades    []dtradeRow
	Orders    []orderRow
	Log       logView
	Message   string
	CanPause  bool
	CanResume bool
	CanStop   bool
}

// maxShown bounds the trades and orders a deployment's page lists: the
// newest.
const maxShown = 500

func (s *Server) deploymentPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, id := r.Context(), r.PathValue("id")
	d, err := s.d.Deployments.Get(ctx, sess.p, id)
	if err != nil {
		s.opFailed(w, r, sess, "reading the deployment", err)
		return
	}
	v := deploymentView{D: deploymentRowOf(d), Message: r.URL.Query().Get("done")}
	v.CanPause, v.CanResume, v.CanStop = d.State == "running", d.State == "paused", !v.D.Terminal
	pos, err := s.d.Deployments.Positions(ctx, sess.p, id)
	if err != nil {
		s.opFailed(w, r, sess, "reading the positions", err)
		return
	}
	for _, p := range pos.Positions {
		pr := positionRow{Pair: p.Pair, Seq: strconv.FormatInt(p.TradeSeq, 10), Qty: p.Quantity, OpenRate: price(p.OpenRate), Stake: price(p.Stake),
			Opened: p.OpenTime.Format("2006-01-02 15:04"), Tag: p.EnterTag}
		if p.StopLoss != 0 {
			pr.StopLoss = price(p.StopLoss)
		}
		v.Positions = append(v.Positions, pr)
	}
	trades, err := s.d.Deployments.Trades(ctx, sess.p, id)
	if err != nil {
		s.opFailed(w, r, sess, "reading the trades", err)
		return
	}
	for i := len(trades.Trades) - 1; i >= 0 && len(v.Trades) < maxShown; i-- {
		t := trades.Trades[i]
		tr := dtradeRow{Seq: strconv.FormatInt(t.Seq, 10), Pair: t.Pair, Opened: t.OpenTime.Format("2006-01-02 15:04"), OpenRate: price(t.OpenRate),
			Amount: price(t.Amount), Stake: price(t.Stake), Tag: t.EnterTag, Open: t.Open}
		if !t.Open {
			if t.CloseTime != nil {
				tr.Closed = t.CloseTime.Format("2006-01-02 15:04")
			}
			tr.CloseRate, tr.Reason, tr.Profit, tr.ProfitAbs, tr.ProfitClass = price(t.CloseRate), t.ExitReason, pct(t.ProfitRatio), price(t.ProfitAbs), sign(t.ProfitAbs)
		}
		v.Trades = append(v.Trades, tr)
	}
	orders, err := s.d.Deployments.Orders(ctx, sess.p, id)
	if err != nil {
		s.opFailed(w, r, sess, "reading the orders", err)
		return
	}
	for i := len(orders.Orders) - 1; i >= 0 && len(v.Orders) < maxShown; i-- {
		o := orders.Orders[i]
		qty := o.Quantity
		if qty == "" && o.QuoteQuantity != "" {
			qty = o.QuoteQuantity + " (quote)"
		}
		v.Orders = append(v.Orders, orderRow{Created: o.CreatedAt.Format("2006-01-02 15:04:05"), ID: o.ClientOrderID, Leg: o.Leg, Pair: o.Pair,
			Side: o.Side, Type: o.Type, Status: o.Status, Price: o.Price, Qty: qty, Executed: o.Executed, Reason: o.Reason})
	}
	after, err := s.tailAfter(r, sess, id, logTail)
	if err != nil {
		s.opFailed(w, r, sess, "reading the log", err)
		return
	}
	logs, err := s.d.Deployments.Logs(ctx, sess.p, id, after, logTail, 0)
	if err != nil {
		s.opFailed(w, r, sess, "reading the log", err)
		return
	}
	v.Log = logView{ID: id, Lines: logRows(logs), Next: logs.Next, Live: !v.D.Terminal}
	s.render(w, r, http.StatusOK, s.chartPage(sess, "Deployment "+id, "deployments", deploymentBody(v, sess.csrf)))
}

// tailAfter is the after= that reads the last n lines of a deployment's
// log. Its lines are numbered without gaps from the oldest kept to the
// newest, so the newest is found by asking for single lines — doubling
// steps from the oldest, then halving — without reading the log (up to
// 10,000 lines of up to 4 KiB).
func (s *Server) tailAfter(r *http.Request, sess *session, id string, n int64) (int64, error) {
	// more tells whether the log has a line after line x.
	more := func(x int64) (bool, error) {
		page, err := s.d.Deployments.Logs(r.Context(), sess.p, id, x, 1, 0)
		return len(page.Lines) > 0, err
	}
	first, err := s.d.Deployments.Logs(r.Context(), sess.p, id, 0, 1, 0)
	if err != nil || len(first.Lines) == 0 {
		return 0, err
	}
	// lo has a line after it; hi has none.
	lo, step := first.Lines[0].Seq-1, n
	hi := lo + step
	for {
		ok, err := more(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo, step = hi, step*2
		hi = lo + step
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := more(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	// hi is the newest line's number.
	return max(first.Lines[0].Seq-1, hi-n), nil
}

// deploymentSummary is the page's live part: state, heartbeat and
// figures, polled.
func (s *Server) deploymentSummary(w http.ResponseWriter, r *http.Request, sess *session) {
	d, err := s.d.Deployments.Get(r.Context(), sess.p, r.PathValue("id"))
	if err != nil {
		s.fragmentFailed(w, r, "reading the deployment", err)
		return
	}
	s.render(w, r, http.StatusOK, deploymentLive(deploymentRowOf(d)))
}

// deploymentLogs is the log lines after ?after=, polled by the page's
// log tail: the new lines and the next poll.
func (s *Server) deploymentLogs(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if err != nil || after < 0 {
		http.Error(w, "after: a log line number", http.StatusBadRequest)
		return
	}
	page, err := s.d.Deployments.Logs(r.Context(), sess.p, id, after, logTail, 0)
	if err != nil {
		s.fragmentFailed(w, r, "reading the log", err)
		return
	}
	d, err := s.d.Deployments.Get(r.Context(), sess.p, id)
	if err != nil {
		s.fragmentFailed(w, r, "reading the deployment", err)
		return
	}
	live := d.State != "stopped" && d.State != "failed"
	s.render(w, r, http.StatusOK, logLines(logView{ID: id, Lines: logRows(page), Next: page.Next, Live: live}))
}

// deploymentChart is the deployment's equity and drawdown as JSON.
func (s *Server) deploymentChart(w http.ResponseWriter, r *http.Request, sess *session) {
	eq, err := s.d.Deployments.Equity(r.Context(), sess.p, r.PathValue("id"))
	if err != nil {
		if p := problemOf(err); p != nil && p.Status == http.StatusNotFound {
			http.NotFound(w, r)
			return
		}
		s.d.Log.Error("web: deployment chart", "err", err)
		http.Error(w, "reading the equity failed", http.StatusInternalServerError)
		return
	}
	pts := make([]point, 0, len(eq.Points))
	for _, p := range eq.Points {
		pts = append(pts, point{p.Time.Unix(), p.Equity})
	}
	writeJSON(w, equityOf(pts))
}

// deploymentReport is the HTML report of the deployment's closed trades,
// sandboxed as a run's.
func (s *Server) deploymentReport(w http.ResponseWriter, r *http.Request, sess *session) {
	b, err := s.d.Deployments.Report(r.Context(), sess.p, r.PathValue("id"))
	if err != nil {
		s.opFailed(w, r, sess, "rendering the report", err)
		return
	}
	writeReport(w, b, false)
}

// deployAction is a button of a deployment's page.
type deployAction struct {
	Path, Title, Question, Button, Done string
	Flatten                             bool
}

var deployActions = map[string]deployAction{
	"stop": {Path: "stop", Title: "Stop", Button: "Stop it", Done: "stopped",
		Question: "Stop this deployment for good? Its runner stops at its next tick; its open trades stay open at the venue."},
	"flatten": {Path: "stop", Title: "Stop and flatten", Button: "Close its trades and stop it", Done: "stopping after closing its trades", Flatten: true,
		Question: "Close this deployment's open trades at the market (at its runner's next candle close), then stop it for good?"},
	"pause": {Path: "pause", Title: "Pause", Button: "Pause it", Done: "paused",
		Question: "Pause this deployment? It opens no new trades; its open trades are still managed (stop-loss, ROI, exits)."},
	"resume": {Path: "resume", Title: "Resume", Button: "Resume it", Done: "resumed",
		Question: "Resume this deployment? It opens trades again."},
}

type actionView struct {
	ID, Action, Question, Button, Title string
	Flatten                             bool
}

// deploymentConfirm asks before a deployment is stopped, paused or
// resumed.
func (s *Server) deploymentConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	a, ok := deployActions[r.PathValue("action")]
	if !ok {
		s.notFound(w, r, sess)
		return
	}
	d, err := s.d.Deployments.Get(r.Context(), sess.p, id)
	if err != nil {
		s.opFailed(w, r, sess, "reading the deployment", err)
		return
	}
	v := actionView{ID: d.ID, Action: "/deployments/" + d.ID + "/" + r.PathValue("action"), Question: a.Question, Button: a.Button,
		Title: a.Title + " deployment " + d.ID, Flatten: a.Flatten}
	s.render(w, r, http.StatusOK, s.page(sess, v.Title, "deployments", actionConfirmBody(v, sess.csrf)))
}

// deploymentAction does a confirmed stop, stop-and-flatten, pause or
// resume through the deployment operations.
func (s *Server) deploymentAction(w http.ResponseWriter, r *http.Request, sess *session) {
	id, name := r.PathValue("id"), r.PathValue("action")
	a, ok := deployActions[name]
	if !ok {
		s.notFound(w, r, sess)
		return
	}
	var err error
	switch a.Path {
	case "stop":
		_, err = s.d.Deployments.Stop(r.Context(), sess.p, id, a.Flatten)
	case "pause":
		_, err = s.d.Deployments.Pause(r.Context(), sess.p, id)
	case "resume":
		_, err = s.d.Deployments.Resume(r.Context(), sess.p, id)
	}
	if err != nil {
		s.opFailed(w, r, sess, a.Title+" the deployment", err)
		return
	}
	http.Redirect(w, r, "/deployments/"+id+"?done="+strings.ReplaceAll(a.Done, " ", "+"), http.StatusSeeOther)
}

// killSwitchConfirm asks before the kill switch stops every deployment.
func (s *Server) killSwitchConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, r, http.StatusOK, s.page(sess, "Kill switch", "deployments", killSwitchBody(s.operator(sess), sess.csrf)))
}

// killSwitch stops every deployment of the tenant (every tenant's, for an
// operator who asked) through the deployment operations' StopAll.
func (s *Server) killSwitch(w http.ResponseWriter, r *http.Request, sess *session) {
	req := apitype.StopAllRequest{Flatten: r.PostFormValue("flatten") != "", Platform: r.PostFormValue("platform") != ""}
	res, err := s.d.Deployments.StopAll(r.Context(), sess.p, req)
	if err != nil {
		s.opFailed(w, r, sess, "stopping every deployment", err)
		return
	}
	s.render(w, r, http.StatusOK, s.page(sess, "Kill switch", "deployments", killSwitchDone(res.Asked, res.Stopped)))
}

// deployForm is the new deployment form with what the user entered and,
// by field, what is wrong with it.
type deployForm struct {
	Strategies []string
	Accounts   []string
	Strategy   string
	Mode       string
	Venue      string
	Account    string
	Pairs      string
	Timeframe  string
	Config     string
	Errors     map[string]string
	Problem    string
}

func (f deployForm) Err(field string) string { return f.Errors[field] }

func (s *Server) deployChoices(r *http.Request, sess *session, f *deployForm) {
	f.Strategies = s.strategyChoices(r, sess)
	if s.d.Accounts == nil {
		return
	}
	list, err := s.d.Accounts.List(r.Context(), sess.p)
	if err != nil {
		s.d.Log.Warn("web: list accounts", "err", err)
		return
	}
	for _, a := range list.Accounts {
		f.Accounts = append(f.Accounts, a.Name)
	}
}

func (s *Server) newDeploymentPage(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	f := deployForm{Strategy: q.Get("strategy"), Mode: "paper", Venue: "sim", Account: "paper1", Pairs: q.Get("pairs"), Timeframe: q.Get("timeframe"),
		Config: "{\n  \"stake_currency\": \"USDT\",\n  \"dry_run_wallet\": 1000\n}"}
	s.deployChoices(r, sess, &f)
	if f.Strategy == "" && len(f.Strategies) > 0 {
		f.Strategy = f.Strategies[0]
	}
	if sp := s.specOf(r, sess, f.Strategy); sp != nil && f.Timeframe == "" {
		f.Timeframe = string(sp.Timeframe)
	}
	s.render(w, r, http.StatusOK, s.page(sess, "New deployment", "deployments", deployFormBody(f, sess.csrf)))
}

// createDeployment sends the form through the deployment operations'
// Create (the API's path, with its checks); a refusal comes back with the
// form, the error by its field.
func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	pf := r.PostForm
	f := deployForm{Strategy: strings.TrimSpace(pf.Get("strategy")), Mode: strings.TrimSpace(pf.Get("mode")), Venue: strings.TrimSpace(pf.Get("venue")),
		Account: strings.TrimSpace(pf.Get("account")), Pairs: pf.Get("pairs"), Timeframe: strings.TrimSpace(pf.Get("timeframe")), Config: pf.Get("config"),
		Errors: map[string]string{}}
	req := f.request()
	if len(f.Errors) == 0 {
		d, err := s.d.Deployments.Create(r.Context(), sess.p, req)
		p := problemOf(err)
		switch {
		case err == nil:
			http.Redirect(w, r, "/deployments/"+d.ID, http.StatusSeeOther)
			return
		case p != nil && (p.Status < 500 || p.Status == http.StatusBadGateway):
			for _, e := range p.Errors {
				if e == nil {
					continue
				}
				field := formField(e.Location)
				if _, ok := f.Errors[field]; !ok {
					f.Errors[field] = e.Message
				}
			}
			if len(p.Errors) == 0 {
				f.Problem = p.Detail
			}
		default:
			s.fail(w, r, sess, "creating the deployment", err)
			return
		}
	}
	for field := range f.Errors {
		if !deployFields[field] {
			// An error of no field of the form: said above it.
			f.Problem = strings.TrimSpace(f.Problem + " " + field + ": " + f.Errors[field])
		}
	}
	s.deployChoices(r, sess, &f)
	s.render(w, r, http.StatusUnprocessableEntity, s.page(sess, "New deployment", "deployments", deployFormBody(f, sess.csrf)))
}

// request is the form as a deployment request; what is wrong with a
// field before the operation's checks goes to f.Errors.
func (f *deployForm) request() apitype.DeploymentRequest {
	req := apitype.DeploymentRequest{Strategy: f.Strategy, Mode: f.Mode, Venue: f.Venue, Account: f.Account, Timeframe: f.Timeframe, Pairs: splitList(f.Pairs)}
	if strings.TrimSpace(f.Config) != "" {
		if err := json.Unmarshal([]byte(f.Config), &req.Config); err != nil {
			f.Errors["config"] = "not a JSON object: " + err.Error()
		}
	}
	for field, empty := range map[string]bool{"strategy": f.Strategy == "", "venue": f.Venue == "", "account": f.Account == "", "timeframe": f.Timeframe == "", "pairs": len(req.Pairs) == 0} {
		if empty {
			f.Errors[field] = "required"
		}
	}
	if f.Mode != "paper" && f.Mode != "live" {
		f.Errors["mode"] = "paper or live"
	}
	return req
}

// deployFields are the fields of the deployment form.
var deployFields = map[string]bool{"strategy": true, "mode": true, "venue": true, "account": true, "pairs": true, "timeframe": true, "config": true}

// formField is the form field an API error location names:
// body.pairs[1] → pairs, body.config.strategy_params → config.
func formField(loc string) string {
	loc = strings.TrimPrefix(loc, "body.")
	if i := strings.IndexAny(loc, ".["); i >= 0 {
		loc = loc[:i]
	}
	return loc
}

// splitList is a list typed by a person: separated by commas, spaces or
// lines.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}
