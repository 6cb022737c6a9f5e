package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
)

func deployForm(extra ...string) url.Values {
	f := url.Values{"strategy": {"sma_cross"}, "mode": {"paper"}, "venue": {"sim"}, "account": {"paper1"}, "pairs": {"ETH/BTC"},
		"timeframe": {"5m"}, "config": {`{"stake_currency": "BTC", "dry_run_wallet": 1, "stoploss": -0.05}`}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

// deploy sends the deployment form and returns the new deployment's id.
func (b *browser) deploy(form url.Values) string {
	b.t.Helper()
	form.Set("csrf", b.csrf())
	a := b.post("/deployments", form)
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location, "/deployments/dep_") {
		b.t.Fatalf("deploy: %d %s\n%s", a.status, a.location, a.body)
	}
	return strings.TrimPrefix(a.location, "/deployments/")
}

// A deployment made from the form: listed, shown with its live parts,
// paused, stopped after a confirmation; another tenant finds none of it.
func TestDeploymentPages(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true, Sim: true})
	alice := signedIn(t, s.URL, s.Token)
	bob := signedIn(t, s.URL, s.NewToken(t, "bob", "globex"))
	if a := alice.get("/deployments/new"); a.status != http.StatusOK || !strings.Contains(a.body, `<option value="sma_cross">`) || !strings.Contains(a.body, `name="csrf"`) {
		t.Fatalf("form: %d", a.status)
	}
	id := alice.deploy(deployForm())

	a := alice.get("/deployments/" + id)
	for _, want := range []string{"sma_cross on 5m", "paper on sim with paper1", `class="status dep-starting"`, `hx-get="/deployments/` + id + `/summary"`,
		`data-chart="equity"`, `href="/deployments/` + id + `/stop"`, `href="/deployments/` + id + `/flatten"`, `href="/deployments/` + id + `/report"`,
		`hx-get="/deployments/` + id + `/logs?after=0"`, "Starting balance", "No open positions."} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the deployment's page lacks %s", want)
		}
	}
	if a := alice.get("/deployments"); !strings.Contains(a.body, `href="/deployments/`+id+`"`) || !strings.Contains(a.body, `hx-get="/deployments/rows"`) {
		t.Errorf("the list lacks the deployment or its polling: %s", a.body)
	}
	if a := alice.get("/deployments/rows"); a.status != http.StatusOK || strings.Contains(a.body, "<html") || !strings.Contains(a.body, id) {
		t.Errorf("rows fragment: %d %s", a.status, a.body)
	}
	if a := alice.get("/deployments/" + id + "/summary"); a.status != http.StatusOK || !strings.Contains(a.body, `id="deployment-live"`) || strings.Contains(a.body, "<html") {
		t.Errorf("summary fragment: %d %s", a.status, a.body)
	}
	if a := alice.get("/deployments/" + id + "/logs?after=0"); a.status != http.StatusOK || !strings.Contains(a.body, `logs?after=0"`) {
		t.Errorf("log fragment: %d %s", a.status, a.body)
	}
	if a := alice.get("/deployments/" + id + "/logs?after=x"); a.status != http.StatusBadRequest {
		t.Errorf("log fragment after=x: %d", a.status)
	}
	var chart struct{ Equity, Drawdown []any }
	if a := alice.get("/deployments/" + id + "/chart"); a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &chart) != nil {
		t.Errorf("chart: %d %s", a.status, a.body)
	}
	if a := alice.get("/deployments/" + id + "/report"); a.status != http.StatusOK || !strings.Contains(a.header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("report: %d %q", a.status, a.header.Get("Content-Security-Policy"))
	}

	// Another tenant's deployment is not found, nor are its fragments,
	// and it cannot be steered.
	paths := []string{"", "/summary", "/logs?after=0", "/chart", "/report", "/stop", "/flatten", "/pause", "/resume"}
	for _, p := range paths {
		if a := bob.get("/deployments/" + id + p); a.status != http.StatusNotFound {
			t.Errorf("bob GET %s: %d", p, a.status)
		}
	}
	for _, p := range []string{"/stop", "/flatten", "/pause", "/resume"} {
		if a := bob.post("/deployments/"+id+p, url.Values{"csrf": {bob.csrf()}}); a.status != http.StatusNotFound {
			t.Errorf("bob POST %s: %d", p, a.status)
		}
	}
	if a := bob.get("/deployments"); strings.Contains(a.body, id) {
		t.Error("bob lists alice's deployment")
	}

	// A refused action shows why: a starting deployment cannot pause.
	if a := alice.post("/deployments/"+id+"/pause", url.Values{"csrf": {alice.csrf()}}); a.status != http.StatusConflict || !strings.Contains(a.body, "cannot pause") {
		t.Errorf("pause a starting deployment: %d %s", a.status, a.body)
	}
	// Stop asks first, then stops.
	if a := alice.get("/deployments/" + id + "/flatten"); a.status != http.StatusOK || !strings.Contains(a.body, `action="/deployments/`+id+`/flatten"`) || !strings.Contains(a.body, "Close this deployment&#39;s open trades") {
		t.Errorf("flatten confirmation: %d %s", a.status, a.body)
	}
	if a := alice.get("/deployments/" + id + "/nonsense"); a.status != http.StatusNotFound {
		t.Errorf("an unknown action: %d", a.status)
	}
	a = alice.post("/deployments/"+id+"/stop", url.Values{"csrf": {alice.csrf()}})
	if a.status != http.StatusSeeOther || a.location != "/deployments/"+id+"?done=stopped" {
		t.Fatalf("stop: %d %q %s", a.status, a.location, a.body)
	}
	a = alice.get(a.location)
	if !strings.Contains(a.body, "The deployment is stopped.") || !strings.Contains(a.body, `class="status dep-stopped"`) || strings.Contains(a.body, `/summary"`) ||
		strings.Contains(a.body, `href="/deployments/`+id+`/stop"`) || strings.Contains(a.body, "/logs?after=") {
		t.Errorf("a stopped deployment's page still polls or offers to stop:\n%s", a.body)
	}
}

var fieldErr = regexp.MustCompile(`id="err-([a-z]+)" role="alert">([^<]*)<`)

// A refused deployment form comes back with each error under its field,
// what was typed kept; nothing is created.
func TestDeploymentFormFieldErrors(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true, Sim: true})
	b := signedIn(t, s.URL, s.Token)
	for name, c := range map[string]struct {
		form         url.Values
		field, words string
	}{
		"pair not listed":    {deployForm("pairs", "ETH/BTC XMR/BTC"), "pairs", "does not list XMR/BTC"},
		"no pairs":           {deployForm("pairs", " "), "pairs", "required"},
		"config not JSON":    {deployForm("config", "{nope"), "config", "not a JSON object"},
		"config bad key":     {deployForm("config", `{"stop_loss": -0.1}`), "config", "stop_loss"},
		"other timeframe":    {deployForm("timeframe", "1h"), "timeframe", "trades on 5m"},
		"unknown strategy":   {deployForm("strategy", "nosuch"), "strategy", "no such strategy version"},
		"mode":               {deployForm("mode", "dream"), "mode", "paper or live"},
		"html in the config": {deployForm("config", `{"<b>x</b>": 1}`), "config", "&lt;b&gt;x&lt;/b&gt;"},
	} {
		c.form.Set("csrf", b.csrf())
		a := b.post("/deployments", c.form)
		if a.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s", name, a.status, a.location)
			continue
		}
		got := map[string]string{}
		for _, m := range fieldErr.FindAllStringSubmatch(a.body, -1) {
			got[m[1]] = m[2]
		}
		if !strings.Contains(got[c.field], c.words) {
			t.Errorf("%s: field errors %q, want %q under %s", name, got, c.words, c.field)
		}
		if !strings.Contains(a.body, `value="`+c.form.Get("account")+`"`) {
			t.Errorf("%s: the account typed is not kept", name)
		}
		if strings.Contains(a.body, "<b>x</b>") {
			t.Errorf("%s: HTML from the form is not escaped", name)
		}
	}
	if a := b.get("/deployments"); strings.Contains(a.body, "/deployments/dep_") {
		t.Error("a refused form made a deployment")
	}
}

func studyRequest(t testing.TB, epochs int) apitype.StudyRequest {
	return apitype.StudyRequest{Strategy: "sma_cross", Config: clienttest.Config(t), Timerange: "20180110-20180112", Pairs: []string{"ETH/BTC", "LTC/BTC"},
		Spaces: []string{"buy", "roi", "stoploss"}, Epochs: epochs, Sampler: "tpe", Seed: 3, Batch: 5, Tags: map[string]string{"who": "<i>me</i>"}}
}

// A finished study's page: its best trials, importance, convergence and
// export; another tenant finds none of it.
func TestStudyPages(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{})
	alice := signedIn(t, s.URL, s.Token)
	bob := signedIn(t, s.URL, s.NewToken(t, "bob", "globex"))
	c, err := client.New(s.URL, s.Token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ticket, err := c.SubmitStudy(context.Background(), studyRequest(t, 10))
	if err != nil {
		t.Fatal(err)
	}
	id := ticket.StudyID
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := c.Study(context.Background(), id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status == "completed" {
			break
		}
		if st.Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("study %s: %s %s", id, st.Status, st.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a := alice.get("/studies/" + id)
	for _, want := range []string{`class="status completed" data-final="true"`, "10/10 trials", "Best trial: number", "Parameter importance",
		`data-chart="convergence"`, `href="/studies/` + id + `/export"`, "who=&lt;i&gt;me&lt;/i&gt;", "stoploss="} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the study's page lacks %s:\n%s", want, a.body)
		}
	}
	if !regexp.MustCompile(`Best [1-9][0-9]* trials`).MatchString(a.body) {
		t.Error("the study's page lists no best trials")
	}
	if strings.Contains(a.body, "<i>me</i>") {
		t.Error("a tag's HTML is not escaped")
	}
	if strings.Contains(a.body, `href="/studies/`+id+`/cancel"`) {
		t.Error("a completed study offers to cancel")
	}
	if a := alice.get("/studies"); !strings.Contains(a.body, `href="/studies/`+id+`"`) {
		t.Error("the list lacks the study")
	}
	var conv struct {
		Loss, Best []struct{ Time, Value float64 }
	}
	if a := alice.get("/studies/" + id + "/convergence"); json.Unmarshal([]byte(a.body), &conv) != nil || len(conv.Loss) == 0 || len(conv.Best) != len(conv.Loss) {
		t.Errorf("convergence: %d %s", a.status, a.body)
	}
	for i := 1; i < len(conv.Best); i++ {
		if conv.Best[i].Value > conv.Best[i-1].Value || conv.Best[i].Time <= conv.Best[i-1].Time {
			t.Errorf("the best loss so far rises or the trials are out of order at %d: %+v", i, conv.Best)
		}
	}
	a = alice.get("/studies/" + id + "/export")
	if a.status != http.StatusOK || !strings.Contains(a.header.Get("Content-Disposition"), "attachment") || !json.Valid([]byte(a.body)) {
		t.Errorf("export: %d %q %s", a.status, a.header.Get("Content-Disposition"), a.body)
	}
	// The overfitting figures: the study's report, framed on its page at
	// its overfitting part, and linked whole.
	a = alice.get("/studies/" + id)
	for _, want := range []string{`<iframe class="report" src="/studies/` + id + `/report#overfitting" sandbox=""`, `href="/studies/` + id + `/report"`, "tradai walkforward --remote URL"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the study's page lacks %s", want)
		}
	}
	a = alice.get("/studies/" + id + "/report")
	if csp := a.header.Get("Content-Security-Policy"); a.status != http.StatusOK || !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "frame-ancestors 'self'") ||
		a.header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("report: %d %q %q", a.status, csp, a.header.Get("X-Frame-Options"))
	}
	for _, want := range []string{`id="overfitting"`, "Deflated Sharpe ratio", "Probability of overfitting"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the study's report lacks %s", want)
		}
	}
	for _, p := range []string{"", "/status", "/convergence", "/export", "/report", "/cancel", "/resume"} {
		if a := bob.get("/studies/" + id + p); a.status != http.StatusNotFound {
			t.Errorf("bob GET %s: %d", p, a.status)
		}
	}
	for _, p := range []string{"/cancel", "/resume"} {
		if a := bob.post("/studies/"+id+p, url.Values{"csrf": {bob.csrf()}}); a.status != http.StatusNotFound {
			t.Errorf("bob POST %s: %d", p, a.status)
		}
	}
	if a := bob.get("/studies"); strings.Contains(a.body, id) || !strings.Contains(a.body, "Start one with <code>tradai hyperopt --remote URL</code>") {
		t.Errorf("bob lists alice's study, or not how to start one:\n%s", a.body)
	}
}

// A queued study is live on its page, and is cancelled and resumed after
// a confirmation.
func TestStudyCancelAndResume(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true})
	b := signedIn(t, s.URL, s.Token)
	c, err := client.New(s.URL, s.Token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ticket, err := c.SubmitStudy(context.Background(), studyRequest(t, 10))
	if err != nil {
		t.Fatal(err)
	}
	id := ticket.StudyID
	a := b.get("/studies/" + id)
	if !strings.Contains(a.body, `hx-get="/studies/`+id+`/status"`) || !strings.Contains(a.body, `href="/studies/`+id+`/cancel"`) || !strings.Contains(a.body, "No trial has completed yet.") {
		t.Fatalf("a queued study's page:\n%s", a.body)
	}
	if strings.Contains(a.body, "<iframe") || strings.Contains(a.body, `/report"`) || !strings.Contains(a.body, "once a worker has started the study") {
		t.Errorf("a study no worker started offers its report:\n%s", a.body)
	}
	if a := b.get("/studies/" + id + "/report"); a.status != http.StatusConflict {
		t.Errorf("the report of a study no worker started: %d", a.status)
	}
	if a := b.get("/studies/" + id + "/status"); a.status != http.StatusOK || strings.Contains(a.body, "<html") || !strings.Contains(a.body, "0/10 trials") {
		t.Errorf("status fragment: %d %s", a.status, a.body)
	}
	if a := b.get("/studies/" + id + "/export"); a.status != http.StatusConflict {
		t.Errorf("export without a completed trial: %d", a.status)
	}
	if a := b.get("/studies/" + id + "/cancel"); a.status != http.StatusOK || !strings.Contains(a.body, `action="/studies/`+id+`/cancel"`) {
		t.Errorf("cancel confirmation: %d", a.status)
	}
	a = b.post("/studies/"+id+"/cancel", url.Values{"csrf": {b.csrf()}})
	if a.status != http.StatusSeeOther || a.location != "/studies/"+id+"?done=cancelled" {
		t.Fatalf("cancel: %d %q %s", a.status, a.location, a.body)
	}
	if a := b.get(a.location); !strings.Contains(a.body, `class="status cancelled" data-final="true"`) || !strings.Contains(a.body, `href="/studies/`+id+`/resume"`) {
		t.Errorf("a cancelled study's page:\n%s", a.body)
	}
	if a := b.post("/studies/"+id+"/cancel", url.Values{"csrf": {b.csrf()}}); a.status != http.StatusConflict {
		t.Errorf("cancel twice: %d", a.status)
	}
	a = b.post("/studies/"+id+"/resume", url.Values{"csrf": {b.csrf()}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("resume: %d %s", a.status, a.body)
	}
	if a := b.get("/studies?status=queued"); !strings.Contains(a.body, `href="/studies/`+id+`"`) {
		t.Error("the resumed study is not listed as queued")
	}
}

// A completed walk-forward's page: its windows with in-sample beside
// out-of-sample figures, the chart's curves and the report, linked from
// the studies list; another tenant finds none of it.
func TestWalkForwardPages(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{})
	alice := signedIn(t, s.URL, s.Token)
	bob := signedIn(t, s.URL, s.NewToken(t, "bob", "globex"))
	c, err := client.New(s.URL, s.Token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ticket, err := c.SubmitWalkForward(context.Background(), apitype.WalkForwardRequest{Strategy: "sma_cross", Config: clienttest.Config(t), Pairs: []string{"ETH/BTC"},
		Tags:                map[string]string{"who": "<i>me</i>"},
		WalkForwardSettings: apitype.WalkForwardSettings{Train: "8d", Test: "4d", Spaces: []string{"buy", "stoploss"}, Epochs: 6, Seed: 1, Jobs: 1}})
	if err != nil {
		t.Fatal(err)
	}
	id := ticket.RunID
	if a := alice.get("/walkforwards/" + id); a.status != http.StatusOK || !strings.Contains(a.body, "Walk-forward <code>"+id) {
		t.Fatalf("the page of a walk-forward in the queue: %d", a.status)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		wf, err := c.WalkForward(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if wf.Run.Status == "completed" {
			break
		}
		if client.Terminal(wf.Run.Status) || time.Now().After(deadline) {
			t.Fatalf("walk-forward %s: %s %s", id, wf.Run.Status, wf.Run.Error)
		}
	}
	a := alice.get("/walkforwards/" + id)
	if a.status != http.StatusOK {
		t.Fatalf("the page of the completed walk-forward: %d %s", a.status, a.body)
	}
	for _, want := range []string{"Out of sample, stitched", "Walk-forward efficiency", "IS profit", "OOS profit", `data-chart="compare"`,
		`"label":"Out of sample, stitched"`, `"label":"Window 2 in sample (best trial)"`, `href="/walkforwards/` + id + `/report"`, "train 8d, test 4d, step 4d"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the walk-forward's page lacks %s", want)
		}
	}
	if rows := strings.Count(a.body, "<tr>"); rows != 3 { // the head and two windows
		t.Errorf("%d table rows, want the head and 2 windows", rows)
	}
	if a := alice.get("/studies"); !strings.Contains(a.body, `href="/walkforwards/`+id+`"`) {
		t.Error("the studies list does not link the walk-forward")
	}
	if a := alice.get("/walkforwards/" + id + "/report"); a.status != http.StatusOK || !strings.Contains(a.header.Get("Content-Security-Policy"), "sandbox") || !strings.Contains(a.body, "sma_cross") {
		t.Errorf("report: %d %q", a.status, a.header.Get("Content-Security-Policy"))
	}
	for _, p := range []string{"", "/report"} {
		if a := bob.get("/walkforwards/" + id + p); a.status != http.StatusNotFound {
			t.Errorf("bob GET %s: %d", p, a.status)
		}
	}
	if a := bob.get("/studies"); strings.Contains(a.body, id) {
		t.Error("bob's studies list shows alice's walk-forward")
	}
	// A backtest's id is not a walk-forward.
	bt := alice.submit(backtestForm())
	if a := alice.get("/walkforwards/" + bt); a.status != http.StatusNotFound {
		t.Errorf("a backtest as a walk-forward: %d", a.status)
	}
}
