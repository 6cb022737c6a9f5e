package api_test

import (
	"testing"
	"time"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/tenancy"
)

// The account limits' answer and a deployment's GET show what every
// deployment on the account uses of its limits today, summed.
func TestAccountUsageIsSummed(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		store, err := deploy.New(deploy.Config{DB: d, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		u, err := tenancy.New(d, clk, nil).CreateUser(ctx, "alice", "acme")
		if err != nil {
			t.Fatal(err)
		}
		p := tenancy.Principal{Tenant: u.Tenant, User: u.ID}
		ops, err := api.NewDeployments(api.DeploymentsConfig{Store: store, Venues: fakeVenues{}, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		var first apitype.Deployment
		for i := range 2 {
			dep, err := ops.Create(ctx, p, deploymentRequest())
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = dep
			}
		}
		ls, err := store.Acquire(ctx, "r1", 2, time.Hour)
		if err != nil || len(ls) != 2 {
			t.Fatal(ls, err)
		}
		for i, l := range ls {
			rd := deploy.RiskDay{Day: deploy.Day(clk.Now()), DayStart: 1000, DayHigh: 1000, High: 1000, Equity: 1000 - 30*float64(i),
				Positions: map[string]float64{"ETH/BTC": 40}, OpenOrders: 1, Orders: 2}
			entry := deploy.Order{ClientOrderID: deploy.ClientOrderID(l.Deployment, 1, deploy.Entry, 0), TradeSeq: 1, Leg: deploy.Entry, Pair: "ETH/BTC",
				Side: exchange.Buy, Type: exchange.MarketOrder}
			if err := store.Record(ctx, l, deploy.Write{Risk: &rd, Orders: []deploy.Order{entry}}); err != nil {
				t.Fatal(err)
			}
		}
		lim, err := ops.AccountLimits(ctx, p, first.Venue, first.Account)
		if err != nil {
			t.Fatal(err)
		}
		want := apitype.AccountUsage{Day: "2026-03-01", Deployments: 2, Positions: map[string]float64{"ETH/BTC": 80}, Exposure: 80, OpenOrders: 2, OrdersToday: 4,
			OrdersLastMinute: 2, Equity: 1970, DayStart: 2000, DayHigh: 2000, High: 2000, DailyLoss: 0.015}
		if g := lim.Usage; g == nil || g.Day != want.Day || g.Deployments != 2 || g.Positions["ETH/BTC"] != 80 || g.Exposure != 80 || g.OpenOrders != 2 ||
			g.OrdersToday != 4 || g.OrdersLastMinute != 2 || g.Equity != 1970 || g.DayStart != 2000 || g.DayHigh != 2000 || g.High != 2000 || g.DailyLoss < 0.0149 || g.DailyLoss > 0.0151 {
			t.Fatalf("usage %+v, want %+v", g, want)
		}
		got, err := ops.Get(ctx, p, first.ID)
		if err != nil || got.Summary == nil || got.Summary.Account == nil || got.Summary.Account.Exposure != 80 || got.Summary.Account.Deployments != 2 {
			t.Fatalf("the deployment's summary: %+v %v", got.Summary, err)
		}
	})
}
