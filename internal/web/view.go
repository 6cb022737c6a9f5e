package web

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

// layoutData is what the layout around every page needs.
type layoutData struct {
	Title, Active, CSRF string
	SignedIn            bool
	CSS, HTMX, App      string // content-hashed asset URLs
	Charts              string // the chart library's URL on pages with charts
	Version             string
	Nav                 []navItem
}

// navItem is a link of the navigation.
type navItem struct{ Key, Label, Href string }

// navItems is the navigation of a signed-in user: deployments and
// studies when the server has their operations.
func navItems(deployments, studies bool) []navItem {
	out := []navItem{{"runs", "Runs", "/runs"}, {"new", "New backtest", "/backtests/new"}}
	if studies {
		out = append(out, navItem{"studies", "Studies", "/studies"})
	}
	if deployments {
		out = append(out, navItem{"deployments", "Deployments", "/deployments"})
	}
	return append(out, navItem{"strategies", "Strategies", "/strategies"}, navItem{"data", "Data", "/data"}, navItem{"docs", "API reference", "/docs"})
}

func (s *Server) layout(sess *session, title, active string, charts bool) layoutData {
	l := layoutData{Title: title, Active: active, CSS: s.assets.url("app.css"), HTMX: s.assets.url("vendor/htmx.min.js"),
		App: s.assets.url("app.js"), Version: s.d.Version, Nav: s.nav}
	if sess != nil {
		l.SignedIn, l.CSRF = true, sess.csrf
	}
	if s.operator(sess) {
		// Before the API reference, the last item.
		l.Nav = slices.Insert(slices.Clone(s.nav), len(s.nav)-1, navItem{"operations", "Operations", "/operations"})
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

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// backOf is the page a confirmation goes back to: its action's path
// without the last segment (/deployments/dep_1/stop → /deployments/dep_1).
func backOf(action string) string {
	if i := strings.LastIndexByte(action, '/'); i > 0 {
		return action[:i]
	}
	return "/"
}
