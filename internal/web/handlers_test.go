package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/client/clienttest"
)

// Signing in sets an HttpOnly, SameSite=Strict cookie (not Secure over
// plain HTTP) and leads to the page asked for; a wrong token does not;
// signing out needs the form token and ends the session.
func TestSignInAndOut(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true})
	b := newBrowser(t, s.URL)
	if a := b.get("/runs?status=failed"); a.status != http.StatusSeeOther || a.location != "/signin?next=%2Fruns%3Fstatus%3Dfailed" {
		t.Fatalf("signed out: %d %q", a.status, a.location)
	}
	if a := b.get("/signin"); a.status != http.StatusOK || !strings.Contains(a.body, `<label for="token">API token</label>`) {
		t.Fatalf("sign-in page: %d", a.status)
	}
	if a := b.post("/signin", url.Values{"token": {"tdi_wrong"}}); a.status != http.StatusUnauthorized || !strings.Contains(a.body, "unknown or revoked") {
		t.Fatalf("wrong token: %d", a.status)
	}
	// Only a path of this site is a place to go after signing in.
	a := b.post("/signin", url.Values{"token": {s.Token}, "next": {"//evil.example/x"}})
	if a.status != http.StatusSeeOther || a.location != "/runs" {
		t.Fatalf("sign in: %d %q", a.status, a.location)
	}
	cookie := a.header.Get("Set-Cookie")
	for _, want := range []string{"tradai_session=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("a cookie over plain HTTP marked Secure: %q", cookie)
	}
	if a := b.get("/runs"); a.status != http.StatusOK || !strings.Contains(a.body, `aria-current="page">Runs`) {
		t.Fatalf("runs page: %d", a.status)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"} {
		if b.get("/runs").header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if a := b.post("/signout", nil); a.status != http.StatusForbidden {
		t.Fatalf("sign out without the form token: %d", a.status)
	}
	if a := b.post("/signout", url.Values{"csrf": {b.csrf()}}); a.status != http.StatusSeeOther || a.location != "/signin" {
		t.Fatalf("sign out: %d %q", a.status, a.location)
	}
	if a := b.get("/runs"); a.status != http.StatusSeeOther {
		t.Fatalf("after signing out: %d", a.status)
	}
	// A live fragment polled after signing out ends its polling.
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/runs/run_x/status", nil)
	req.Header.Set("HX-Request", "true")
	if a := b.do(req); a.status != http.StatusUnauthorized || !strings.Contains(a.body, `data-final="true">signed out</span>`) || strings.Contains(a.body, "<html") {
		t.Errorf("fragment signed out: %d %s", a.status, a.body)
	}
}

// Every form POST needs the session's form token, and a cross-origin
// POST is refused even with it.
func TestFormsNeedTheCSRFToken(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true})
	b := signedIn(t, s.URL, s.Token)
	token := b.csrf()
	for _, path := range []string{"/backtests", "/strategies/x/versions/1/promote", "/strategies/x/rollback", "/signout",
		"/deployments", "/deployments/dep_x/stop", "/deployments/dep_x/flatten", "/deployments/dep_x/pause", "/deployments/dep_x/resume",
		"/studies/run_x/cancel", "/studies/run_x/resume"} {
		for name, form := range map[string]url.Values{
			"none":  backtestForm(),
			"wrong": backtestForm("csrf", strings.Repeat("0", len(token))),
		} {
			if a := b.post(path, form); a.status != http.StatusForbidden {
				t.Errorf("POST %s with %s form token: %d", path, name, a.status)
			}
		}
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/backtests", strings.NewReader(backtestForm("csrf", token).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if a := b.do(req); a.status != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", a.status)
	}
	if page := b.get("/runs").body; strings.Contains(page, "/runs/run_") {
		t.Error("a refused form made a run")
	}
}

// Another tenant's runs, their fragments, data and strategies are not
// found; nothing of them is in the other tenant's lists.
func TestAnotherTenantsPagesAreNotFound(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{AllowExternal: true})
	alice := signedIn(t, s.URL, s.Token)
	bob := signedIn(t, s.URL, s.NewToken(t, "bob", "globex"))
	id := alice.submit(backtestForm())
	other := alice.submit(backtestForm("timerange", "20180110-20180111"))
	alice.waitDone(id)
	alice.waitDone(other)
	pushStrategy(t, s, s.Token, "secret", "", "\n# two\n")
	for _, path := range []string{
		"/runs/" + id, "/runs/" + id + "/status", "/runs/" + id + "/chart", "/runs/" + id + "/candles?pair=ETH/BTC", "/runs/" + id + "/report",
		"/compare?id=" + id + "&id=" + other, "/strategies/secret", "/strategies/secret/diff", "/strategies/secret/versions/1/promote", "/strategies/secret/rollback",
	} {
		if a := alice.get(path); a.status != http.StatusOK && !strings.HasSuffix(path, "/rollback") {
			t.Errorf("alice GET %s: %d", path, a.status)
		}
		if a := bob.get(path); a.status != http.StatusNotFound {
			t.Errorf("bob GET %s: %d", path, a.status)
		}
	}
	form := url.Values{"csrf": {bob.csrf()}, "stage": {"production"}, "reason": {"x"}}
	for _, path := range []string{"/strategies/secret/versions/1/promote", "/strategies/secret/rollback"} {
		if a := bob.post(path, form); a.status != http.StatusNotFound {
			t.Errorf("bob POST %s: %d", path, a.status)
		}
	}
	for _, page := range []string{"/runs", "/strategies"} {
		if body := bob.get(page).body; strings.Contains(body, id) || strings.Contains(body, "secret") {
			t.Errorf("bob's %s shows alice's things", page)
		}
	}
}

// Text users choose — strategy names, tags, parameters and the errors
// that quote them — reaches the page escaped.
func TestInjectedHTMLIsEscaped(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{})
	b := signedIn(t, s.URL, s.Token)
	const evil, evilName = `<script>alert(1)</script>`, `<img src=x onerror=alert(1)>`
	// The strategy name is quoted by the refusal.
	a := b.post("/backtests", backtestForm("csrf", b.csrf(), "strategy", evilName))
	if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, `&#34;&lt;img src=x onerror=alert(1)&gt;&#34;: want`) {
		t.Fatalf("unknown strategy: %d\n%s", a.status, a.body)
	}
	// A tag, and a failing run's error message quoting a pair.
	id := b.submit(backtestForm("tags", "note="+evil, "pairs", "NOPE/BTC"))
	b.waitDone(id)
	for _, page := range []string{a.body, b.get("/runs").body, b.get("/runs/" + id).body, b.get("/runs?tag=note%3D" + url.QueryEscape(evil)).body,
		b.get("/backtests/new?strategy=" + url.QueryEscape(evilName)).body, b.get("/runs?strategy=" + url.QueryEscape(evil)).body} {
		if strings.Contains(page, evil) || strings.Contains(page, "<script>alert") || strings.Contains(page, evilName) {
			t.Errorf("unescaped: %s", page)
		}
	}
	if !strings.Contains(b.get("/runs").body, "note=&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the tag is not shown escaped")
	}
}

// A backtest submitted with the form goes through the API's checks, runs,
// and its page shows its figures, charts' data and trades; the list
// filters it; a bad form comes back saying what is wrong.
func TestSubmitFollowAndRead(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{})
	b := signedIn(t, s.URL, s.Token)
	form := b.get("/backtests/new?strategy=rsi_bollinger").body
	for _, want := range []string{`name="param.rsi_period"`, `name="csrf"`, `name="key"`} {
		if !strings.Contains(form, want) {
			t.Errorf("backtest form lacks %s", want)
		}
	}
	if a := b.post("/backtests", backtestForm("csrf", b.csrf(), "param.rsi_period", "100000")); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "body.params.rsi_period") {
		t.Errorf("out-of-range parameter: %d", a.status)
	}
	id := b.submit(backtestForm("tags", "exp=web", "param.rsi_period", "14"))
	if status := b.waitDone(id); !strings.Contains(status, "completed") {
		t.Fatalf("run %s: %s", id, status)
	}
	page := b.get("/runs/" + id).body
	for _, want := range []string{"Total profit", `data-chart="equity"`, `data-chart="candles"`, "Trades (", "Per exit reason", "/runs/" + id + "/report"} {
		if !strings.Contains(page, want) {
			t.Errorf("run page lacks %s", want)
		}
	}
	if a := b.get("/runs/" + id + "/chart"); a.status != http.StatusOK || !strings.Contains(a.body, `"equity":[{"time":`) {
		t.Errorf("chart data: %d %s", a.status, a.body)
	}
	if a := b.get("/runs/" + id + "/candles?pair=ETH%2FBTC"); a.status != http.StatusOK || !strings.Contains(a.body, `"candles":{"t":[15`) || !strings.Contains(a.body, `"trades":{"o":[15`) || !strings.Contains(a.body, `"roi":{"t":[15`) || !strings.Contains(a.body, `"stops":{"t":[15`) {
		t.Errorf("candle data: %d %.300s", a.status, a.body)
	}
	if a := b.get("/runs/" + id + "/candles?pair=XMR%2FBTC"); a.status != http.StatusNotFound {
		t.Errorf("a pair the run did not trade: %d", a.status)
	}
	if a := b.get("/runs/" + id + "/report"); a.status != http.StatusOK || !strings.Contains(a.header.Get("Content-Security-Policy"), "sandbox") || a.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("report: %d %q", a.status, a.header.Get("Content-Security-Policy"))
	}
	// Sorted by profit, descending: the first row is the best trade.
	sorted := b.get("/runs/" + id + "?sort=profit&dir=desc&pair=ETH%2FBTC").body
	profits := regexp.MustCompile(`<td class="num (?:pos|neg|)">(-?[0-9.]+)%</td>`).FindAllStringSubmatch(sorted, -1)
	if len(profits) < 2 {
		t.Fatalf("trade profits on the sorted page: %v", profits)
	}
	for _, filter := range []string{"?tag=exp%3Dweb", "?status=completed", "?strategy=rsi_bollinger", "?from=2000-01-01"} {
		if !strings.Contains(b.get("/runs"+filter).body, id) {
			t.Errorf("/runs%s does not list the run", filter)
		}
	}
	for _, filter := range []string{"?tag=exp%3Dother", "?status=failed", "?to=2000-01-01"} {
		if strings.Contains(b.get("/runs"+filter).body, id) {
			t.Errorf("/runs%s lists the run", filter)
		}
	}
	if a := b.get("/runs?version=x"); !strings.Contains(a.body, "The version is a number") {
		t.Error("a bad filter is not explained")
	}
	other := b.submit(backtestForm("param.rsi_period", "20"))
	b.waitDone(other)
	cmp := b.get("/compare?id=" + id + "&id=" + other).body
	if !strings.Contains(cmp, `id="compare-data"`) || !strings.Contains(cmp, `class="differs"`) || !strings.Contains(cmp, "Parameter rsi_period") {
		t.Errorf("comparison page: %.2000s", cmp)
	}
	if !strings.Contains(b.get("/compare?id="+id).body, "Pick 2 to 20 runs") {
		t.Error("comparing one run is not explained")
	}
}

// Promotion and rollback are confirmed first and recorded with the reason.
func TestPromoteAndRollBack(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{AllowExternal: true, NoWorkers: true})
	b := signedIn(t, s.URL, s.Token)
	pushStrategy(t, s, s.Token, "pysma", "", "\n# two\n")
	if a := b.get("/strategies"); !strings.Contains(a.body, `href="/strategies/pysma"`) {
		t.Fatal("the strategy is not listed")
	}
	if a := b.get("/strategies/pysma/diff?from=1&to=2"); !strings.Contains(a.body, `<span class="add">+# two`) {
		t.Errorf("diff: %.3000s", a.body)
	}
	confirm := b.get("/strategies/pysma/versions/1/promote?stage=production")
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, "Move pysma@1 (now none) to production?") {
		t.Fatalf("confirmation: %d", confirm.status)
	}
	csrf := b.csrf()
	for _, v := range []string{"1", "2"} {
		a := b.post("/strategies/pysma/versions/"+v+"/promote", url.Values{"csrf": {csrf}, "stage": {"production"}, "reason": {"better " + v}})
		if a.status != http.StatusSeeOther {
			t.Fatalf("promote %s: %d %s", v, a.status, a.body)
		}
	}
	page := b.get("/strategies/pysma").body
	if !strings.Contains(page, "better 2") || !regexp.MustCompile(`<td class="num">2</td><td><span class="stage production">`).MatchString(page) {
		t.Errorf("after promotions: %.4000s", page)
	}
	if a := b.post("/strategies/pysma/rollback", url.Values{"csrf": {csrf}, "reason": {"bad"}}); a.status != http.StatusSeeOther {
		t.Fatalf("rollback: %d %s", a.status, a.body)
	}
	if page := b.get("/strategies/pysma").body; !regexp.MustCompile(`<td class="num">1</td><td><span class="stage production">`).MatchString(page) {
		t.Errorf("after the rollback: %.4000s", page)
	}
}

// The data page draws each series' coverage with its gaps and says how
// fresh it is.
func TestDataPageShowsGaps(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true, DataDir: gappedData(t)})
	b := signedIn(t, s.URL, s.Token)
	page := b.get("/data").body
	row := regexp.MustCompile(`(?s)<td>ETH/USDT</td>.*?</tr>`).FindString(page)
	for _, want := range []string{`class="gap"`, "gap 2018-01-10 20:00 – 2018-01-10 23:00", `1 (3)`, `class="fresh stale"`} {
		if !strings.Contains(row, want) {
			t.Errorf("ETH/USDT row lacks %s: %s", want, row)
		}
	}
}

// /docs renders the API's document from the binary: no other site.
func TestDocsOffline(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true})
	a := newBrowser(t, s.URL).get("/docs")
	if a.status != http.StatusOK {
		t.Fatalf("/docs: %d", a.status)
	}
	for _, want := range []string{`id="op-submit-backtest"`, "/api/v1/backtests", `href="#schema-SubmitRequest"`, `id="schema-SubmitRequest"`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("/docs lacks %s", want)
		}
	}
	for _, src := range regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(a.body, -1) {
		if strings.HasPrefix(src[1], "http") && !strings.HasPrefix(src[1], "https://www.tradingview.com/") {
			t.Errorf("/docs loads %s", src[1])
		}
	}
}

// Assets are served at content-hashed URLs, cached for a year.
func TestAssets(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true})
	b := newBrowser(t, s.URL)
	page := b.get("/signin").body
	urls := regexp.MustCompile(`(?:src|href)="(/assets/[0-9a-f]{12}/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(urls) < 3 {
		t.Fatalf("asset URLs on the sign-in page: %v", urls)
	}
	for _, u := range urls {
		a := b.get(u[1])
		if a.status != http.StatusOK || a.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || a.body == "" {
			t.Errorf("%s: %d %q", u[1], a.status, a.header.Get("Cache-Control"))
		}
	}
	// Asked for gzip, they come gzipped.
	for _, u := range urls {
		req, _ := http.NewRequest(http.MethodGet, s.URL+u[1], nil)
		req.Header.Set("Accept-Encoding", "gzip")
		if a := b.do(req); a.header.Get("Content-Encoding") != "gzip" || a.header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s asked for gzip: %q", u[1], a.header.Get("Content-Encoding"))
		}
	}
	if a := b.get("/assets/000000000000/app.js"); a.status != http.StatusNotFound {
		t.Errorf("a stale asset URL: %d", a.status)
	}
}

// A form body beyond 1 MiB is not read.
func TestLargeFormsAreRefused(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true})
	b := signedIn(t, s.URL, s.Token)
	a := b.post("/backtests", backtestForm("csrf", b.csrf(), "config", `{"x":"`+strings.Repeat("a", 2<<20)+`"}`))
	if a.status == http.StatusSeeOther || a.status < 400 {
		t.Fatalf("a 2 MiB form: %d", a.status)
	}
	if strings.Contains(b.get("/runs").body, "/runs/run_") {
		t.Error("the large form made a run")
	}
}

// Pages take from the user's API rate limit, and failed sign-ins from the
// client address's, as API calls do.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true, RateLimit: 0.01, RateBurst: 3})
	b := signedIn(t, s.URL, s.Token)
	limited := false
	for range 5 {
		if a := b.get("/runs"); a.status == http.StatusTooManyRequests {
			limited = a.header.Get("Retry-After") != ""
			break
		}
	}
	if !limited {
		t.Error("pages beyond the rate limit are served")
	}
	refused := false
	for range 40 {
		if a := newBrowser(t, s.URL).post("/signin", url.Values{"token": {"tdi_wrong"}}); a.status == http.StatusTooManyRequests {
			refused = true
			break
		}
	}
	if !refused {
		t.Error("40 failed sign-ins in a row are all tried")
	}
}
