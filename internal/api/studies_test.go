package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/runs"
)

func studyRequest(t testing.TB) apitype.StudyRequest {
	return apitype.StudyRequest{Strategy: "sma_cross", Config: clienttest.Config(t), Timerange: "20180110-20180112", Pairs: []string{"ETH/BTC", "LTC/BTC"},
		Spaces: []string{"buy", "roi", "stoploss"}, Epochs: 20, Sampler: "tpe", Seed: 3, Batch: 5}
}

func (e *env) waitStudy(token, url string) apitype.Study {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := e.do("GET", url+"?top=3", token, nil)
		if r.status != http.StatusOK {
			e.t.Fatalf("GET %s: %d %s", url, r.status, r.body)
		}
		var st apitype.Study
		r.decode(e.t, &st)
		if runs.Status(st.Status).Terminal() {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("study still %s after 60s", st.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStudySubmitFollowAndExport(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, clienttest.Options{})
		r := e.do("POST", "/api/v1/studies", e.token, studyRequest(t))
		if r.status != http.StatusAccepted {
			t.Fatalf("submit: %d %s", r.status, r.body)
		}
		var tk apitype.StudyTicket
		r.decode(t, &tk)
		st := e.waitStudy(e.token, tk.StatusURL)
		if st.Status != "completed" || st.Trials.Completed+st.Trials.Failed != 20 || len(st.Best) != 3 || len(st.Importance) != len(st.Dimensions) {
			t.Fatalf("study %+v", st)
		}
		var page apitype.TrialPage
		e.do("GET", tk.StatusURL+"/trials?limit=15", e.token, nil).decode(t, &page)
		if len(page.Trials) != 15 || page.NextOffset != 15 || page.Trials[0].Number != 1 {
			t.Fatalf("trial page: %d trials, next %d", len(page.Trials), page.NextOffset)
		}
		r = e.do("GET", tk.StatusURL+"/export", e.token, nil)
		var pf struct {
			StrategyName string         `json:"strategy_name"`
			Params       map[string]any `json:"params"`
		}
		r.decode(t, &pf)
		if r.status != http.StatusOK || pf.StrategyName != "sma_cross" || pf.Params["buy"] == nil || pf.Params["stoploss"] == nil {
			t.Fatalf("export: %d %s", r.status, r.body)
		}
		// A built-in strategy's study has no code to push as a version
		// (the push itself is tested in internal/study on both databases).
		if r := e.do("POST", tk.StatusURL+"/export", e.token, map[string]bool{"registry": true}); r.status != http.StatusConflict ||
			!strings.Contains(r.problem(t).Detail, "built-in") {
			t.Fatalf("export a built-in's study as a version: %d %s", r.status, r.body)
		}
		if r := e.do("POST", tk.StatusURL+"/export", e.token, map[string]bool{"registry": false}); r.status != http.StatusUnprocessableEntity ||
			!strings.Contains(string(r.body), "body.registry") {
			t.Fatalf("export with registry false: %d %s", r.status, r.body)
		}
		// The HTML report of the remote study: hyperopt --report's.
		r = e.do("GET", st.Links["report"], e.token, nil)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !bytes.Contains(r.body, []byte("<html")) ||
			!bytes.Contains(r.body, []byte("Convergence")) || !bytes.Contains(r.body, []byte("Overfitting")) || !bytes.Contains(r.body, []byte("20 of 20 epochs")) {
			t.Fatalf("report: %d %s %.300s", r.status, r.header.Get("Content-Type"), r.body)
		}
		var list apitype.StudyPage
		e.do("GET", "/api/v1/studies", e.token, nil).decode(t, &list)
		if len(list.Studies) != 1 || list.Studies[0].ID != tk.StudyID {
			t.Fatalf("list: %+v", list)
		}
		// A study is not a backtest: the backtest list is unchanged.
		var runsPage apitype.RunPage
		e.do("GET", "/api/v1/backtests", e.token, nil).decode(t, &runsPage)
		if len(runsPage.Runs) != 0 {
			t.Fatalf("the backtest list shows %d runs", len(runsPage.Runs))
		}
		// Another tenant finds nothing.
		for _, c := range []struct{ method, path string }{
			{"GET", tk.StatusURL}, {"GET", tk.StatusURL + "/trials"}, {"GET", tk.StatusURL + "/export"}, {"GET", tk.StatusURL + "/report"},
			{"POST", tk.StatusURL + "/cancel"}, {"POST", tk.StatusURL + "/resume"}, {"POST", tk.StatusURL + "/export"},
		} {
			var body any
			if c.method == "POST" && strings.HasSuffix(c.path, "/export") {
				body = map[string]bool{"registry": true}
			}
			r := e.do(c.method, c.path, e.other, body)
			if r.status != http.StatusNotFound || r.problem(t).Code != apitype.CodeNotFound || bytes.Contains(r.body, []byte("sma_cross")) {
				t.Fatalf("%s %s as another tenant: %d %s", c.method, c.path, r.status, r.body)
			}
		}
		e.do("GET", "/api/v1/studies", e.other, nil).decode(t, &list)
		if len(list.Studies) != 0 {
			t.Fatalf("another tenant lists %d studies", len(list.Studies))
		}
		if r := e.do("POST", tk.StatusURL+"/cancel", e.token, nil); r.status != http.StatusConflict {
			t.Fatalf("cancel a completed study: %d %s", r.status, r.body)
		}
	})
}

func TestBadStudiesAreNamed(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{})
	for field, change := range map[string]func(*apitype.StudyRequest){
		"body.epochs":     func(r *apitype.StudyRequest) { r.Epochs = 0 },
		"body.loss":       func(r *apitype.StudyRequest) { r.Loss = "NoSuchLoss" },
		"body.sampler":    func(r *apitype.StudyRequest) { r.Sampler = "annealing" },
		"body.spaces":     func(r *apitype.StudyRequest) { r.Spaces = []string{"sell"} },
		"body.strategy":   func(r *apitype.StudyRequest) { r.Strategy = "no_such_strategy" },
		"body.fail_share": func(r *apitype.StudyRequest) { r.FailShare = 1.5 },
	} {
		req := studyRequest(t)
		change(&req)
		r := e.do("POST", "/api/v1/studies", e.token, req)
		if r.status/100 != 4 {
			t.Fatalf("%s: %d %s", field, r.status, r.body)
		}
		p := r.problem(t)
		raw, _ := json.Marshal(p)
		if !strings.Contains(string(raw), field) {
			t.Errorf("%s: the problem does not name it: %s", field, raw)
		}
	}
	if r := e.do("GET", "/api/v1/studies/run_nope", e.token, nil); r.status != http.StatusNotFound {
		t.Fatalf("unknown study: %d", r.status)
	}
}
