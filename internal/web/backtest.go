package web

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/sdk"
)

// paramField is one strategy parameter in the backtest form.
type paramField struct {
	Name, Kind, Value, Help string
	Min, Max                string
	Choices                 []string
	Checked                 bool
}

// backtestForm is the backtest form with what the user entered.
type backtestForm struct {
	Strategies   []string
	Strategy     string
	Description  string
	Exchange     string
	Pairs        string
	Timerange    string
	Timeframe    string
	StakeCur     string
	StakeAmount  string
	Wallet       string
	MaxOpen      string
	Tags         string
	Config       string
	Params       []paramField
	Key          string
	Problem      string
	ProblemItems []string
}

func (s *Server) strategyChoices(r *http.Request, sess *session) []string {
	out := strategy.Names()
	if s.d.Registry != nil {
		names, err := s.d.Registry.Names(r.Context(), sess.p)
		if err != nil {
			s.d.Log.Warn("web: list registry strategies", "err", err)
		}
		out = append(out, names...)
	}
	return out
}

// specOf is the declared spec of a strategy the form names: a built-in or
// a registry reference (nil when unknown).
func (s *Server) specOf(r *http.Request, sess *session, ref string) *sdk.Spec {
	if b, err := strategy.Lookup(ref); err == nil {
		sp := b.Spec()
		return &sp
	}
	if s.d.Registry != nil && ref != "" {
		if v, err := s.d.Registry.Get(r.Context(), sess.p, ref); err == nil {
			return &v.Spec
		}
	}
	return nil
}

func newKey() string { return "web-" + rand.Text() }

func (s *Server) newBacktestPage(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	f := backtestForm{
		Strategies: s.strategyChoices(r, sess), Strategy: q.Get("strategy"),
		Exchange: "binance", StakeCur: "USDT", StakeAmount: "unlimited", Wallet: "1000", MaxOpen: "3",
		Pairs: q.Get("pairs"), Timerange: q.Get("timerange"), Key: newKey(),
	}
	if f.Strategy == "" && len(f.Strategies) > 0 {
		f.Strategy = f.Strategies[0]
	}
	f.Params = s.paramFields(r, sess, &f, nil)
	s.render(w, r, http.StatusOK, s.page(sess, "New backtest", "new", backtestBody(f, sess.csrf)))
}

// paramFields are the strategy's declared parameters, with the values in
// form when given.
func (s *Server) paramFields(r *http.Request, sess *session, f *backtestForm, form map[string][]string) []paramField {
	sp := s.specOf(r, sess, f.Strategy)
	if sp == nil {
		return nil
	}
	f.Description = sp.Description
	if f.Timeframe == "" {
		f.Timeframe = string(sp.Timeframe)
	}
	var out []paramField
	for _, p := range sp.Params {
		pf := paramField{Name: p.Name, Kind: string(p.Kind), Help: p.Help, Choices: p.Choices, Value: fmt.Sprint(p.Default)}
		if p.Kind == sdk.Int || p.Kind == sdk.Float {
			pf.Min, pf.Max = strconv.FormatFloat(p.Min, 'g', -1, 64), strconv.FormatFloat(p.Max, 'g', -1, 64)
		}
		if p.Kind == sdk.Bool {
			pf.Checked = p.Default == true
		}
		if vs, ok := form["param."+p.Name]; ok && len(vs) > 0 {
			pf.Value = vs[0]
			pf.Checked = vs[0] == "true"
		} else if form != nil && p.Kind == sdk.Bool {
			pf.Checked = false
		}
		out = append(out, pf)
	}
	return out
}

// submitBacktest turns the form into a submission and sends it through
// the API's own submission path (Submitter): the same checks, the same
// run. A refused form comes back with what is wrong.
func (s *Server) submitBacktest(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	pf := r.PostForm
	f := backtestForm{
		Strategies: s.strategyChoices(r, sess), Strategy: strings.TrimSpace(pf.Get("strategy")), Exchange: strings.TrimSpace(pf.Get("exchange")),
		Pairs: pf.Get("pairs"), Timerange: strings.TrimSpace(pf.Get("timerange")), Timeframe: strings.TrimSpace(pf.Get("timeframe")),
		StakeCur: strings.TrimSpace(pf.Get("stake_currency")), StakeAmount: strings.TrimSpace(pf.Get("stake_amount")),
		Wallet: strings.TrimSpace(pf.Get("dry_run_wallet")), MaxOpen: strings.TrimSpace(pf.Get("max_open_trades")),
		Tags: pf.Get("tags"), Config: pf.Get("config"), Key: pf.Get("key"),
	}
	f.Params = s.paramFields(r, sess, &f, pf)
	req, problems := f.request(s.specOf(r, sess, f.Strategy))
	if len(problems) == 0 {
		run, err := s.d.Submit.Submit(r.Context(), sess.p, req, f.Key)
		var p *apitype.Problem
		switch {
		case err == nil:
			http.Redirect(w, r, "/runs/"+run.ID, http.StatusSeeOther)
			return
		case errors.As(err, &p) && p.Status < 500:
			problems = append(problems, p.Detail)
			for _, e := range p.Errors {
				if e != nil && e.Location != "" && !strings.HasPrefix(p.Detail, e.Location) {
					problems = append(problems, e.Location+": "+e.Message)
				}
			}
		default:
			s.fail(w, r, sess, "submitting the backtest", err)
			return
		}
	}
	f.Problem, f.ProblemItems = "The backtest was not submitted:", problems
	if f.Key == "" {
		f.Key = newKey()
	}
	s.render(w, r, http.StatusUnprocessableEntity, s.page(sess, "New backtest", "new", backtestBody(f, sess.csrf)))
}

// request is the form as a submission, or what is wrong with it.
func (f backtestForm) request(spec *sdk.Spec) (apitype.SubmitRequest, []string) {
	var problems []string
	cfg := map[string]any{}
	if strings.TrimSpace(f.Config) != "" {
		if err := json.Unmarshal([]byte(f.Config), &cfg); err != nil {
			problems = append(problems, "Extra config: not a JSON object: "+err.Error())
		}
	}
	ex, _ := cfg["exchange"].(map[string]any)
	if ex == nil {
		ex = map[string]any{}
	}
	if f.Exchange != "" {
		ex["name"] = f.Exchange
	}
	cfg["exchange"] = ex
	set := func(key, v string, number bool) {
		if v == "" {
			return
		}
		if number {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				problems = append(problems, key+": not a number")
				return
			}
			cfg[key] = x
			return
		}
		cfg[key] = v
	}
	set("timeframe", f.Timeframe, false)
	set("stake_currency", f.StakeCur, false)
	if f.StakeAmount == "unlimited" {
		set("stake_amount", f.StakeAmount, false)
	} else {
		set("stake_amount", f.StakeAmount, true)
	}
	set("dry_run_wallet", f.Wallet, true)
	set("max_open_trades", f.MaxOpen, true)
	req := apitype.SubmitRequest{Strategy: f.Strategy, Config: cfg, Timerange: f.Timerange}
	req.Pairs = splitList(f.Pairs)
	for _, t := range strings.Fields(f.Tags) {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			problems = append(problems, "Tags: "+strconv.Quote(t)+" is not key=value")
			continue
		}
		if req.Tags == nil {
			req.Tags = map[string]string{}
		}
		req.Tags[k] = v
	}
	if spec != nil {
		for _, pf := range f.Params {
			var v any
			var err error
			switch sdk.ParamKind(pf.Kind) {
			case sdk.Int:
				v, err = strconv.Atoi(strings.TrimSpace(pf.Value))
			case sdk.Float:
				v, err = strconv.ParseFloat(strings.TrimSpace(pf.Value), 64)
			case sdk.Bool:
				v = pf.Checked
			default:
				v = pf.Value
			}
			if err != nil {
				problems = append(problems, "Parameter "+pf.Name+": not a "+pf.Kind)
				continue
			}
			if req.Params == nil {
				req.Params = map[string]any{}
			}
			req.Params[pf.Name] = v
		}
	}
	return req, problems
}
