package client_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/client/clienttest"
)

// A study through the client: submit, follow, best trials, trials by
// loss, export; cancel of a finished study is a 409, an unknown one 404.
func TestStudyOverAPI(t *testing.T) {
	t.Parallel()
	s := clienttest.Start(t, clienttest.Options{})
	c := newClient(t, s, client.Options{})
	ctx := ctxFor(t)
	tk, err := c.SubmitStudy(ctx, apitype.StudyRequest{Strategy: "sma_cross", Config: clienttest.Config(t), Timerange: "20180110-20180112",
		Pairs: []string{"ETH/BTC"}, Spaces: []string{"buy", "stoploss"}, Epochs: 12, Seed: 4, Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	var st apitype.Study
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st, err = c.Study(ctx, tk.StudyID, 2); err != nil {
			t.Fatal(err)
		}
		if client.Terminal(st.Status) || time.Now().After(deadline) {
			break
		}
	}
	if st.Status != client.Completed || len(st.Best) == 0 || st.Trials.Completed+st.Trials.Failed != 12 {
		t.Fatalf("study %+v", st)
	}
	page, err := c.StudyTrials(ctx, tk.StudyID, "loss", 0, 1)
	if err != nil || len(page.Trials) != 1 || page.Trials[0].Number != st.Best[0].Number {
		t.Fatalf("best by loss %+v (%v), study says %d", page, err, st.Best[0].Number)
	}
	raw, err := c.ExportStudy(ctx, tk.StudyID)
	var pf map[string]any
	if err != nil || json.Unmarshal(raw, &pf) != nil || pf["strategy_name"] != "sma_cross" {
		t.Fatalf("export %s (%v)", raw, err)
	}
	list, err := c.Studies(ctx, client.Completed, "")
	if err != nil || len(list.Studies) != 1 {
		t.Fatalf("list %+v (%v)", list, err)
	}
	if _, err := c.CancelStudy(ctx, tk.StudyID); apiStatus(err) != http.StatusConflict {
		t.Fatalf("cancel a completed study: %v", err)
	}
	if _, err := c.Study(ctx, "run_nope", 0); apiStatus(err) != http.StatusNotFound {
		t.Fatalf("unknown study: %v", err)
	}
}
