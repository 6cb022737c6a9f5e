package platform_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tradai/tradai/internal/accounts"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/secrets"
	"github.com/tradai/tradai/internal/sim/binanceapi"
	"github.com/tradai/tradai/internal/sim/replay/replaytest"
	"github.com/tradai/tradai/internal/tenancy"
)

// A live deployment on binance trades with the tenant's stored binance
// account at BinanceURL (here the simulator standing in for Binance): its
// key signs the orders, and an order the symbol's filters refuse is not
// sent. Paper on binance, and a sim account on binance, are refused naming
// the field.
func TestLiveOnBinance(t *testing.T) {
	ctx := t.Context()
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "tradai.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := tenancy.New(d, nil, nil).CreateUser(ctx, "alice", "acme")
	if err != nil {
		t.Fatal(err)
	}
	p := tenancy.Principal{Tenant: u.Tenant, User: u.ID}
	kek, err := secrets.ParseKEK(secrets.GenerateKEK())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := accounts.New(accounts.Config{DB: d, KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Add(ctx, p, accounts.Binance, "main", accounts.Credentials{APIKey: "binanceKey", Secret: "binance-secret"}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Add(ctx, p, accounts.Sim, "simacct", accounts.Credentials{APIKey: "simKey", Secret: "sim-secret"}); err != nil {
		t.Fatal(err)
	}

	eng, feed := replaytest.Market(t, 60, nil)
	mem := &binanceapi.MemoryKeys{}
	mem.Add(binanceapi.Key{APIKey: "binanceKey", Secret: "binance-secret", Account: "real"})
	if err := eng.CreateAccount("real"); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Fund(feed.Now(), "real", "USDT", fixed.MustParse("10000")); err != nil {
		t.Fatal(err)
	}
	api, err := binanceapi.New(binanceapi.Config{Engine: eng, Feed: feed, Keys: mem, WeightLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var posted []string
	var ban atomic.Bool
	var requests atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if ban.CompareAndSwap(true, false) {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusTeapot)
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/api/v3/order" {
			mu.Lock()
			posted = append(posted, r.Header.Get("X-MBX-APIKEY"))
			mu.Unlock()
		}
		api.ServeHTTP(w, r)
	}))
	defer hs.Close()
	v := &platform.Venues{Keys: keys, BinanceURL: hs.URL}

	live := deploy.Spec{Strategy: "sma_cross", Mode: deploy.Live, Venue: "binance", Account: "main", Pairs: []string{"BTC/USDT"}, Timeframe: "1m"}
	mkts, err := v.Markets(ctx, live)
	if err != nil || len(mkts) != 1 || mkts[0].Symbol != "BTCUSDT" {
		t.Fatalf("markets: %v %v", mkts, err)
	}
	if err := v.Account(ctx, u.Tenant, live, "USDT", 0); err != nil {
		t.Fatalf("account: %v", err)
	}
	field := func(err error) string {
		var fe *deploy.FieldError
		if errors.As(err, &fe) {
			return fe.Field
		}
		return ""
	}
	paper := live
	paper.Mode = deploy.Paper
	if _, err := v.Markets(ctx, paper); field(err) != "mode" {
		t.Errorf("paper on binance: %v", err)
	}
	wrong := live
	wrong.Account = "simacct"
	if err := v.Account(ctx, u.Tenant, wrong, "USDT", 0); field(err) != "account" || !strings.Contains(err.Error(), "venue sim") {
		t.Errorf("a sim account on binance: %v", err)
	}
	if _, err := v.Open(ctx, "another-tenant", live); field(err) != "account" {
		t.Errorf("another tenant's account: %v", err)
	}

	ex, err := v.Open(ctx, u.Tenant, live)
	if err != nil {
		t.Fatal(err)
	}
	m := mkts[0]
	if _, err := ex.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: m.StepSize}); !errors.Is(err, exchange.ErrFilter) {
		t.Fatalf("an order below the minimum notional: %v", err)
	}
	ks, err := ex.Klines(ctx, "BTCUSDT", "1m", 1)
	if err != nil {
		t.Fatal(err)
	}
	qty := fixed.QuoFloor(fixed.MustParse("20"), ks[0].Close).FloorTo(m.StepSize)
	o, err := ex.PlaceOrder(ctx, exchange.OrderRequest{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.MarketOrder, Quantity: qty, ClientOrderID: "td-live-1"})
	if err != nil || o.Status != exchange.StatusFilled {
		t.Fatalf("a market buy: %+v %v", o, err)
	}
	mu.Lock()
	if len(posted) != 1 || posted[0] != "binanceKey" {
		t.Fatalf("orders sent with keys %q; want one, with the stored binance key", posted)
	}
	mu.Unlock()

	// The deployments on Binance share its quota: after one's HTTP 418,
	// another's requests are not sent until the ban ends.
	other, err := v.Open(ctx, u.Tenant, live)
	if err != nil {
		t.Fatal(err)
	}
	ban.Store(true)
	if _, err := ex.Klines(ctx, "BTCUSDT", "1m", 1); !errors.Is(err, exchange.ErrRateLimited) {
		t.Fatalf("the 418: %v", err)
	}
	before := requests.Load()
	if _, err := other.Klines(ctx, "BTCUSDT", "1m", 1); !errors.Is(err, exchange.ErrRateLimited) || requests.Load() != before {
		t.Fatalf("another deployment during the ban: %v, %d requests sent", err, requests.Load()-before)
	}
}
