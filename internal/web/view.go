package web

import (
	"net/url"
	"strconv"

	"github.com/a-h/templ"
)

// layoutData is what the layout around every page needs.
type layoutData struct {
	Title, Active, CSRF string
	SignedIn            bool
	CSS, HTMX, App      string // content-hashed asset URLs
	Charts              string // the chart library's URL on pages with charts
	Version             string
}

// navItem is a link of the navigation.
type navItem struct{ Key, Label, Href string }

// nav is the navigation of a signed-in user. Deployments, studies and
// operations get their entries when their pages exist.
var nav = []navItem{
	{"runs", "Runs", "/runs"},
	{"new", "New backtest", "/backtests/new"},
	{"strategies", "Strategies", "/strategies"},
	{"data", "Data", "/data"},
	{"docs", "API reference", "/docs"},
}

func (s *Server) layout(sess *session, title, active string, charts bool) layoutData {
	l := layoutData{Title: title, Active: active, CSS: s.assets.url("app.css"), HTMX: s.assets.url("vendor/htmx.min.js"),
		App: s.assets.url("app.js"), Version: s.d.Version}
	if sess != nil {
		l.SignedIn, l.CSRF = true, sess.csrf
	}
	if charts {
		l.Charts = s.assets.url("vendor/lightweight-charts.js")
	}
	return l
}

// page is body inside the layout.
func (s *Server) page(sess *session, title, active string, body templ.Component) templ.Component {
	return layout(s.layout(sess, title, active, false), body)
}

// chartPage is page with the chart library loaded.
func (s *Server) chartPage(sess *session, title, active string, body templ.Component) templ.Component {
	return layout(s.layout(sess, title, active, true), body)
}

func itoa(n int) string { return strconv.Itoa(n) }

func progressPct(p float64) string { return strconv.Itoa(int(p*100+0.5)) + "%" }

// backtestURL is the backtest form for a strategy.
func backtestURL(name string) string { return "/backtests/new?strategy=" + url.QueryEscape(name) }
