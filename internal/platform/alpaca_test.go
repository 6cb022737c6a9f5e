package platform_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/tradai/tradai/internal/accounts"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange/alpaca/alpacatest"
	"github.com/tradai/tradai/internal/fixed"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/secrets"
	"github.com/tradai/tradai/internal/tenancy"
)

// The venue alpaca: a live deployment's stored alpaca account is tested,
// checked (its pairs among the account's assets) and opened at AlpacaURL;
// paper mode is refused, and another venue's account does not do.
func TestVenueAlpaca(t *testing.T) {
	ctx := context.Background()
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
	kek, _ := secrets.ParseKEK(secrets.GenerateKEK())
	keys, err := accounts.New(accounts.Config{DB: d, KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	p := tenancy.Principal{Tenant: u.Tenant, User: u.ID}
	if _, err := keys.Add(ctx, p, accounts.Alpaca, "stocks", accounts.Credentials{APIKey: "PKTESTKEY", Secret: "paper-secret"}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Add(ctx, p, accounts.Binance, "crypto", accounts.Credentials{APIKey: "bkey", Secret: "bsecret"}); err != nil {
		t.Fatal(err)
	}
	srv := alpacatest.New(alpacatest.Config{KeyID: "PKTESTKEY", Secret: "paper-secret", Cash: fixed.MustParse("5000"),
		Assets: []alpacatest.Asset{{Symbol: "AAPL", Fractionable: true, Price: fixed.MustParse("180.25")}}})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	v := &platform.Venues{Keys: keys, AlpacaURL: hs.URL, AlpacaDataURL: hs.URL, HTTP: hs.Client()}

	if _, perm, err := v.TestAccount(ctx, p.Tenant, "stocks"); err != nil || perm.Check() != nil {
		t.Fatalf("TestAccount = %+v, %v", perm, err)
	}
	srv.SetAccount("ACTIVE", true, false)
	if _, perm, err := v.TestAccount(ctx, p.Tenant, "stocks"); err != nil || !errors.Is(perm.Check(), accounts.ErrCannotTrade) {
		t.Fatalf("TestAccount of a blocked account = %+v, %v", perm, err)
	}
	srv.SetAccount("ACTIVE", false, false)

	spec := deploy.Spec{Strategy: "s", Mode: deploy.Live, Venue: platform.VenueAlpaca, Account: "stocks", Pairs: []string{"AAPL/USD"}, Timeframe: "1h"}
	if mkts, err := v.Markets(ctx, spec); err != nil || len(mkts) != 1 || mkts[0].Base+"/"+mkts[0].Quote != "AAPL/USD" {
		t.Fatalf("Markets = %+v, %v", mkts, err)
	}
	if err := v.Account(ctx, p.Tenant, spec, "USD", 0); err != nil {
		t.Fatalf("Account: %v", err)
	}
	bad := spec
	bad.Pairs = []string{"AAPL/USD", "NOPE/USD"}
	var fe *deploy.FieldError
	if err := v.Account(ctx, p.Tenant, bad, "USD", 0); !errors.As(err, &fe) || fe.Field != "pairs" {
		t.Fatalf("Account with a pair Alpaca does not list: %v", err)
	}
	paper := spec
	paper.Mode = deploy.Paper
	if _, err := v.Markets(ctx, paper); !errors.As(err, &fe) || fe.Field != "mode" {
		t.Fatalf("Markets of a paper deployment: %v", err)
	}
	other := spec
	other.Account = "crypto"
	if _, err := v.Open(ctx, p.Tenant, other); !errors.As(err, &fe) || fe.Field != "account" {
		t.Fatalf("Open with a binance account: %v", err)
	}
	ex, err := v.Open(ctx, p.Tenant, spec)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := ex.Balances(ctx)
	if err != nil || len(bs) != 1 || bs[0].Asset != "USD" || bs[0].Free != fixed.MustParse("5000") {
		t.Fatalf("balances through the opened venue = %+v, %v", bs, err)
	}
}
