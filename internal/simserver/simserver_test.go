package simserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/sim"
	"github.com/tradai/tradai/internal/sim/simstore"
	"github.com/tradai/tradai/internal/simserver"
)

// A simulator replaying in real time (×3600) starts on a free port, serves
// the Binance API, and Shutdown stops every goroutine it started and saves
// the simulation clock where the replay got to.
func TestStartShutdown(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tradai.db")
	dbtest.SeedSQLite(t, path) // migrated already: Migrate below finds it current
	d, err := db.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	s, err := simserver.New(simserver.Config{DB: d, DataDir: clienttest.ExampleData(), Pairs: []string{"ETH/BTC"}, Timeframe: "5m",
		Addr: "127.0.0.1:0", Speed: 3600, Engine: sim.DefaultConfig(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-s.Ready()
	if !strings.HasPrefix(s.Describe(), "simulator listening on http://"+s.Addr().String()+" (1 symbols, 5m candles, replay mode, speed 3600,") {
		t.Errorf("describe: %s", s.Describe())
	}
	tr := &http.Transport{}
	simTime := func() int64 {
		t.Helper()
		res, err := (&http.Client{Transport: tr}).Get("http://" + s.Addr().String() + "/sim/v1/clock")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var clock struct{ SimTime int64 }
		if err := json.NewDecoder(res.Body).Decode(&clock); err != nil {
			t.Fatal(err)
		}
		return clock.SimTime
	}
	first := simTime()
	// The replay, the journal's saving (with the clock's) and the
	// listen-key expiry wait on the clock; then one second of it is an hour
	// of simulation time.
	if err := clk.BlockUntil(ctx, 3); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	moved := first
	for deadline := time.Now().Add(10 * time.Second); moved == first; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the simulation clock stayed at %d", first)
		}
		moved = simTime()
	}
	if moved != first+3_600_000 {
		t.Fatalf("one second at speed 3600 moved the simulation clock %d ms, want an hour", moved-first)
	}
	tr.CloseIdleConnections()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	saved, err := simstore.New(d, nil, nil).Clock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Time < moved || saved.Mode != "replay" || saved.Speed != 3600 {
		t.Fatalf("saved simulation clock %+v, want at least %d where the replay got to, replay mode at speed 3600", saved, moved)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}
