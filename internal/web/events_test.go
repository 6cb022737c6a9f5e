package web_test

import (
	"bufio"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/client/clienttest"
)

// event is one server-sent event.
type event struct{ name, data string }

// events opens path's event stream and reads n events, or all of them
// when the stream ends first.
func (b *browser) events(path string, n int) (int, []event) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, nil
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		b.t.Fatalf("content type %q", ct)
	}
	var out []event
	var cur event
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.name != "" {
				out = append(out, cur)
			}
			cur = event{}
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if cur.data != "" {
				cur.data += "\n"
			}
			cur.data += strings.TrimPrefix(line, "data: ")
		}
	}
	return res.StatusCode, out
}

// A deployment's page follows its event stream: the live part as HTML
// without the polling, and an end once it is stopped; another tenant's
// stream is not found. The kill switch on the list asks, then stops every
// deployment of the tenant (not another tenant's).
func TestDeploymentEventsAndKillSwitch(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{NoWorkers: true, Sim: true})
	alice := signedIn(t, s.URL, s.Token)
	bob := signedIn(t, s.URL, s.NewToken(t, "bob", "globex"))
	id := alice.deploy(deployForm())
	other := bob.deploy(deployForm())

	if a := alice.get("/deployments/" + id); !strings.Contains(a.body, `data-events="/deployments/`+id+`/events"`) {
		t.Fatalf("the page does not name its event stream:\n%s", a.body)
	}
	status, evs := alice.events("/deployments/"+id+"/events", 1)
	if status != http.StatusOK || len(evs) != 1 || evs[0].name != "live" || !strings.Contains(evs[0].data, `id="deployment-live"`) ||
		!strings.Contains(evs[0].data, "dep-starting") || strings.Contains(evs[0].data, "hx-get") || strings.Contains(evs[0].data, "data-events") {
		t.Fatalf("events: %d %+v", status, evs)
	}
	if status, _ := bob.events("/deployments/"+id+"/events", 1); status != http.StatusNotFound {
		t.Fatalf("bob's stream of alice's deployment: %d", status)
	}

	list := alice.get("/deployments")
	if !strings.Contains(list.body, `href="/deployments/stop-all"`) {
		t.Fatal("the list has no kill switch")
	}
	a := alice.get("/deployments/stop-all")
	if a.status != http.StatusOK || !strings.Contains(a.body, `action="/deployments/stop-all"`) || !strings.Contains(a.body, `name="flatten"`) || strings.Contains(a.body, `name="platform"`) {
		t.Fatalf("kill switch confirmation: %d\n%s", a.status, a.body)
	}
	if a := alice.post("/deployments/stop-all", url.Values{}); a.status != http.StatusForbidden {
		t.Fatalf("kill switch without the form token: %d", a.status)
	}
	// platform is an operator's: refused for alice.
	if a := alice.post("/deployments/stop-all", url.Values{"csrf": {alice.csrf()}, "platform": {"1"}}); a.status != http.StatusForbidden {
		t.Fatalf("a tenant's platform stop: %d %s", a.status, a.body)
	}
	a = alice.post("/deployments/stop-all", url.Values{"csrf": {alice.csrf()}})
	if a.status != http.StatusOK || !strings.Contains(a.body, "1 stopped at once") || !strings.Contains(a.body, id) {
		t.Fatalf("kill switch: %d\n%s", a.status, a.body)
	}
	if a := alice.get("/deployments/" + id); !strings.Contains(a.body, `class="status dep-stopped"`) || strings.Contains(a.body, "data-events") {
		t.Fatalf("after the kill switch:\n%s", a.body)
	}
	if a := bob.get("/deployments/" + other); !strings.Contains(a.body, `class="status dep-starting"`) {
		t.Fatalf("bob's deployment after alice's kill switch:\n%s", a.body)
	}
	_, evs = alice.events("/deployments/"+id+"/events", 10)
	if len(evs) != 2 || evs[0].name != "live" || !strings.Contains(evs[0].data, "dep-stopped") || evs[1] != (event{"end", "stopped"}) {
		t.Fatalf("a stopped deployment's events: %+v", evs)
	}
}
