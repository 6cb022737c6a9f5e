package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
)

// A server already serving as many API requests as it may answers the next
// one at once, 503 overloaded with Retry-After, instead of keeping it
// waiting; the health check is still answered, and the request it was busy
// with completes.
func TestOverloadIsAnswered503(t *testing.T) {
	d := sqliteDB(t)
	e := newEnv(t, d, clienttest.Options{MaxInFlight: 1, NoWorkers: true})
	// Hold the database's one writing connection: a submission waits
	// for it, holding the one request slot.
	held, release := make(chan struct{}), make(chan struct{})
	txDone := make(chan error, 1)
	go func() {
		txDone <- d.InTx(context.Background(), func(*db.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	body := apitype.SubmitRequest{Strategy: "rsi_bollinger", Config: clienttest.Config(t)}
	answers := make(chan resp, 2)
	for range 2 {
		go func() { answers <- e.do("POST", "/api/v1/backtests", e.token, body) }()
	}
	// Whichever of the two came second found the slot taken.
	first := <-answers
	if first.status != http.StatusServiceUnavailable || first.problem(t).Code != apitype.CodeOverloaded || first.header.Get("Retry-After") != "1" {
		t.Fatalf("second request while the first is served: %d %q %s", first.status, first.header.Get("Retry-After"), first.body)
	}
	if r := e.do("GET", "/health", "", nil); r.status != http.StatusOK {
		t.Fatalf("health while overloaded: %d %s", r.status, r.body)
	}
	close(release)
	if err := <-txDone; err != nil {
		t.Fatal(err)
	}
	if second := <-answers; second.status != http.StatusAccepted {
		t.Fatalf("the request being served: %d %s", second.status, second.body)
	}
}
