package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/client/clienttest"
)

// The download form queues a download through the API's path; its page
// shows the progress until it ends; refusals come back by field; another
// tenant finds none of it.
func TestDownloadForm(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{DownloadURL: clienttest.FakeKlines(t)})
	alice := signedIn(t, s.URL, s.Token)
	bob := signedIn(t, s.URL, s.NewToken(t, "bob", "globex"))
	if a := alice.get("/data"); !strings.Contains(a.body, `href="/data/downloads/new"`) {
		t.Fatal("the data page does not offer the download form")
	}
	a := alice.get("/data/downloads/new")
	for _, want := range []string{`name="exchange" value="binance"`, `name="pairs"`, `name="timeframes" value="5m"`, `name="timerange"`, `name="key" value="web-`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the form lacks %s", want)
		}
	}

	bad := url.Values{"csrf": {alice.csrf()}, "exchange": {"kraken"}, "pairs": {`ETH/BTC ETH\BTC`}, "timeframes": {"7q"}, "timerange": {"soon<b>"}}
	a = alice.post("/data/downloads", bad)
	errs := map[string]string{}
	for _, m := range fieldErr.FindAllStringSubmatch(a.body, -1) {
		errs[m[1]] = m[2]
	}
	if a.status != http.StatusUnprocessableEntity || len(errs) != 4 || !strings.Contains(errs["exchange"], "binance only") || !strings.Contains(errs["timeframes"], "7q") ||
		!strings.Contains(a.body, `value="soon&lt;b&gt;"`) {
		t.Fatalf("refused form: %d %v\n%s", a.status, errs, a.body)
	}
	if a := alice.post("/data/downloads", url.Values{"exchange": {"binance"}}); a.status != http.StatusForbidden {
		t.Fatalf("without the form token: %d", a.status)
	}

	good := url.Values{"csrf": {alice.csrf()}, "key": {"k1"}, "exchange": {"binance"}, "pairs": {"ETH/USDT"}, "timeframes": {"1h, 4h"}, "timerange": {"20240101-20240103"}}
	a = alice.post("/data/downloads", good)
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location, "/data/downloads/run_") {
		t.Fatalf("submit: %d %s\n%s", a.status, a.location, a.body)
	}
	page := a.location
	if again := alice.post("/data/downloads", good); again.location != page {
		t.Fatalf("the same form twice: %s then %s", page, again.location)
	}
	if a := alice.get(page); a.status != http.StatusOK || !strings.Contains(a.body, "ETH/USDT") || !strings.Contains(a.body, `id="download-progress"`) {
		t.Fatalf("download page: %d\n%s", a.status, a.body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		a = alice.get(page + "/status")
		if strings.Contains(a.body, "data-final") {
			break
		}
		if !strings.Contains(a.body, `hx-trigger="every 1s"`) {
			t.Fatalf("an unfinished download's status does not poll:\n%s", a.body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the download did not finish:\n%s", a.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(a.body, "completed") || !strings.Contains(a.body, "100%") || !strings.Contains(a.body, "binance ETH/USDT 4h: 12 new candles") || strings.Contains(a.body, "hx-get") {
		t.Fatalf("finished download:\n%s", a.body)
	}
	if a := alice.get("/data"); !strings.Contains(a.body, "ETH/USDT") {
		t.Fatal("the data page does not list the downloaded series")
	}
	for _, p := range []string{page, page + "/status"} {
		if a := bob.get(p); a.status != http.StatusNotFound {
			t.Errorf("bob GET %s: %d", p, a.status)
		}
	}
}
