package platform_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/tradai/tradai/internal/telemetry"
)

// dashboard is the part of a Grafana dashboard JSON model the test reads.
type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name, Type, Query string
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource *struct {
			Type, UID string
		} `json:"datasource"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// metricNames are the metric names expr selects, or an error.
func metricNames(expr string) ([]string, error) {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, nil
}

// exported says whether name (a family, or a histogram's _bucket, _sum or
// _count series) is one the platform exports.
func exported(families map[string]bool, name string) bool {
	if families[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && families[base] {
			return true
		}
	}
	return false
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// The alert rules (deploy/prometheus/alerts.yaml, checked by Prometheus's
// own rule parser) and the Grafana dashboard (deploy/grafana/tradai.json:
// a dashboard model with unique panel ids on the 24-column grid, every
// query parsed as PromQL) use only metrics the processes export: those a
// running server shows at /metrics once everything moved, and the
// telemetry families a process shows only once set (breaker, drift).
func TestDeployFilesUseExportedMetrics(t *testing.T) {
	_, families := movedServer(t)
	ch := make(chan *prometheus.Desc, 100)
	for _, c := range telemetry.NewMetrics().Collectors() {
		c.Describe(ch)
	}
	close(ch)
	for d := range ch {
		families[fqName.FindStringSubmatch(d.String())[1]] = true
	}
	check := func(where, expr string) {
		t.Helper()
		names, err := metricNames(expr)
		if err != nil {
			t.Errorf("%s: %q: %v", where, expr, err)
			return
		}
		if len(names) == 0 {
			t.Errorf("%s: %q selects no metric", where, expr)
		}
		for _, n := range names {
			if !exported(families, n) {
				t.Errorf("%s: %q uses %s, which no TradAI process exports", where, expr, n)
			}
		}
	}

	rules, errs := rulefmt.ParseFile("../../deploy/prometheus/alerts.yaml", false)
	if len(errs) > 0 {
		t.Fatalf("alerts.yaml: %v", errs)
	}
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			check("alert "+r.Alert, r.Expr)
		}
	}
	for _, want := range []string{"TradaiHeartbeatStale", "TradaiRunsDeadLettered", "TradaiJobsDiscarded", "TradaiBreakerOpen", "TradaiDriftAlarm"} {
		if !alerts[want] {
			t.Errorf("alerts.yaml has no alert %s", want)
		}
	}

	raw, err := os.ReadFile("../../deploy/grafana/tradai.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("tradai.json: %v", err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 30 || len(d.Templating.List) == 0 || d.Templating.List[0].Type != "datasource" {
		t.Errorf("tradai.json: uid %q, title %q, schemaVersion %d, templating %+v", d.UID, d.Title, d.SchemaVersion, d.Templating.List)
	}
	ids, queried := map[int]bool{}, map[string]bool{}
	for _, p := range d.Panels {
		where := "panel " + p.Title
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("%s: id %d used twice or zero", where, p.ID)
		}
		ids[p.ID] = true
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("%s: off the grid: %+v", where, g)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("%s: no datasource or no query", where)
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" {
				t.Errorf("%s: a query without refId", where)
			}
			check(where, tg.Expr)
			names, _ := metricNames(tg.Expr)
			for _, n := range names {
				queried[n] = true
			}
		}
	}
	// The dashboard shows every family the issue lists.
	for _, want := range []string{"tradai_queue_jobs", "tradai_queue_wait_seconds_bucket", "tradai_runs", "tradai_hyperopt_trials_total",
		"tradai_deployment_ticks_total", "tradai_deployment_tick_latency_seconds_bucket", "tradai_venue_requests_total",
		"tradai_venue_request_weight_total", "tradai_breaker_open", "tradai_deployment_heartbeat_age_seconds", "tradai_deployment_drift_score"} {
		if !queried[want] {
			t.Errorf("the dashboard shows no %s", want)
		}
	}
}
