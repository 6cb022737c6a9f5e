package deploy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/trade"
)

// A paper deployment is promoted to live only once it ran the minimum
// time and closed the minimum trades; the live deployment has the same
// version, pairs, timeframe and config, and the promotion is audited with
// who. A live, failed or other tenant's deployment is not promoted.
func TestPromote(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		paperSpec := spec()
		paperSpec.Version, paperSpec.CodeSHA256 = 3, strings.Repeat("ab", 32)
		paper, err := b.store.Create(ctx, b.alice, paperSpec)
		if err != nil {
			t.Fatal(err)
		}
		rules := deploy.PromoteRules{MinAge: 48 * time.Hour, MinTrades: 3}
		fieldOf := func(err error) string {
			var fe *deploy.FieldError
			if errors.As(err, &fe) {
				return fe.Field + ": " + fe.Why
			}
			return fmt.Sprint(err)
		}
		// Too young, no trades.
		if _, err := b.store.Promote(ctx, b.alice, paper.ID, "sim", "live1", rules); !strings.Contains(fieldOf(err), "id: ") || !strings.Contains(err.Error(), "needs 48h0m0s") {
			t.Fatalf("a new paper deployment: %v", err)
		}
		b.clk.Advance(49 * time.Hour)
		if _, err := b.store.Promote(ctx, b.alice, paper.ID, "sim", "live1", rules); !strings.Contains(fieldOf(err), "closed 0 trades on paper; promotion needs 3") {
			t.Fatalf("without trades: %v", err)
		}
		ls, err := b.store.Acquire(ctx, "r1", 1, time.Minute)
		if err != nil || len(ls) != 1 {
			t.Fatal(ls, err)
		}
		w := deploy.Write{}
		for i, p := range []float64{2, -1, 3, 0} {
			w.Trades = append(w.Trades, deploy.Trade{Seq: int64(i + 1), Open: i == 3, Record: trade.Trade{Pair: "BTC/USDT", ProfitAbs: p}})
		}
		if err := b.store.Record(ctx, ls[0], w); err != nil {
			t.Fatal(err)
		}
		rec, err := b.store.Paper(ctx, b.alice, paper.ID, rules)
		if err != nil || rec.ClosedTrades != 3 || rec.OpenTrades != 1 || rec.Profit != 4 || rec.Wins != 2 || rec.Ran != 49*time.Hour {
			t.Fatalf("paper record %+v %v", rec, err)
		}
		if _, err := b.store.Promote(ctx, b.bob, paper.ID, "sim", "live1", rules); !errors.Is(err, deploy.ErrNotFound) {
			t.Fatalf("another tenant promotes it: %v", err)
		}
		live, err := b.store.Promote(ctx, b.alice, paper.ID, "binance", "main", rules)
		if err != nil {
			t.Fatal(err)
		}
		want := deploy.LiveOf(paper, "binance", "main")
		if live.Spec.Mode != deploy.Live || live.Spec.Venue != "binance" || live.Spec.Account != "main" || live.Spec.Version != 3 ||
			live.Spec.CodeSHA256 != paperSpec.CodeSHA256 || string(live.Spec.Config) != string(paper.Spec.Config) ||
			fmt.Sprint(live.Spec.Pairs) != fmt.Sprint(want.Pairs) || live.Spec.Timeframe != paper.Spec.Timeframe || live.State != deploy.Starting {
			t.Fatalf("live %+v", live.Spec)
		}
		if n := auditCount(t, d, "deployment.promote", live.ID); n != 1 {
			t.Fatalf("%d promotions audited", n)
		}
		var user, detail string
		if err := d.QueryRow(ctx, `SELECT user_id, detail FROM audit_log WHERE action = 'deployment.promote' AND target = ?`, live.ID).Scan(&user, &detail); err != nil ||
			user != b.alice.User || !strings.Contains(detail, paper.ID) || !strings.Contains(detail, `"account":"main"`) {
			t.Fatalf("audited by %q: %s %v", user, detail, err)
		}
		// A live deployment is not promoted; nor a failed paper one.
		if _, err := b.store.Promote(ctx, b.alice, live.ID, "sim", "live1", deploy.PromoteRules{MinAge: -1, MinTrades: -1}); !strings.Contains(fieldOf(err), "is a live deployment") {
			t.Fatalf("promoting a live one: %v", err)
		}
		if err := b.store.Fail(ctx, ls[0], "boom"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.Promote(ctx, b.alice, paper.ID, "sim", "live1", rules); !strings.Contains(fieldOf(err), "failed (boom)") {
			t.Fatalf("promoting a failed one: %v", err)
		}
		// The defaults: a week and 10 trades.
		young, _ := b.store.Create(ctx, b.alice, spec())
		b.clk.Advance(6 * 24 * time.Hour)
		if _, err := b.store.Promote(ctx, b.alice, young.ID, "sim", "live1", deploy.PromoteRules{}); !strings.Contains(fieldOf(err), "needs 168h0m0s") {
			t.Fatalf("defaults: %v", err)
		}
	})
}

// Limits are the config's risk limits, tightened by the account's.
func TestLimits(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		ctx := t.Context()
		s := spec()
		s.Config = []byte(`{"risk_limits": {"max_order_notional": 200, "max_daily_loss": 0.05}}`)
		if err := b.store.SetAccountLimits(ctx, b.alice, s.Venue, s.Account, []byte(`{"max_order_notional": 150}`)); err != nil {
			t.Fatal(err)
		}
		l, err := b.store.Limits(ctx, b.alice.Tenant, s)
		if err != nil || l.MaxOrderNotional != 150 || l.MaxDailyLoss != 0.05 {
			t.Fatalf("limits %+v %v", l, err)
		}
		s.Config = []byte(`{"risk_limits": {"max_daily_loss": 3}}`)
		if _, err := b.store.Limits(ctx, b.alice.Tenant, s); !errors.Is(err, deploy.ErrInvalid) {
			t.Fatalf("bad limits: %v", err)
		}
	})
}
