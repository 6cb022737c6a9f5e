package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/runs"
)

// tradai worker --log-format json writes one JSON object a line, and every
// line about a backtest's work — the queue's and the backtest's own (here
// its warning that the range starts before the data) — carries the run's
// run_id and tenant.
func TestWorkerLogsJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a worker process")
	}
	dbtest.Each(t, func(t *testing.T, tg dbtest.Target) {
		if tg.Dialect != db.Postgres {
			t.Skip("tradai worker needs PostgreSQL")
		}
		d, data, submit := workerQueue(t, tg)
		// The range starts before the example data: the backtest warns.
		cfg, _ := json.Marshal(clienttest.Config(t, func(m map[string]any) { m["timerange"] = "20180101-20180111" }))
		submit(runs.RunSpec{Strategy: "rsi_bollinger", Config: cfg})
		var id, tenant string
		if err := d.QueryRow(t.Context(), `SELECT id, tenant_id FROM runs`).Scan(&id, &tenant); err != nil {
			t.Fatal(err)
		}
		w := startChild(t, "worker", "--log-format", "json", "--log-level", "debug", "--database", tg.URL, "--datadir", data, "--workers", "1")
		waitAllTerminal(t, d, 1, time.Minute)
		w.stop(t)

		seen := map[string]bool{}
		for line := range strings.Lines(w.output()) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("not a JSON line: %q", line)
			}
			if !strings.Contains(line, id) || rec["component"] == "river" {
				continue // River's own lines name the job, not the run
			}
			if rec["run_id"] != id || rec["tenant"] != tenant {
				t.Errorf("a line of the run's work without its run_id and tenant: %s", line)
			}
			seen[rec["msg"].(string)] = true
		}
		for _, msg := range []string{"run completed", "not enough candles before the time range for the strategy's startup; moving the start forward"} {
			if !seen[msg] {
				t.Errorf("no line %q about the run; saw %v\n%s", msg, seen, w.output())
			}
		}
	})
}

// --log-format takes text or json.
func TestLogFormatFlag(t *testing.T) {
	if _, _, err := execute(t, "migrate", "--log-format", "xml", "--database", t.TempDir()+"/t.db"); err == nil || !strings.Contains(err.Error(), `--log-format "xml": want text or json`) {
		t.Fatalf("--log-format xml: %v", err)
	}
}
