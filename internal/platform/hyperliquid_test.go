package platform_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/accounts"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/hyperliquid"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/secrets"
	"github.com/tradai/tradai/internal/tenancy"
)

// A live deployment on "hyperliquid" opens the venue at HyperliquidURL
// with the stored account (its address the API key, its API wallet's key
// the secret); the account's test names the wallet; paper is refused.
func TestHyperliquidVenue(t *testing.T) {
	const (
		key  = "0x0123456789012345678901234567890123456789012345678901234567890123"
		acct = "0x31ca8395cf837de08b24da3f660e77761dfb974b"
	)
	signer, err := hyperliquid.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Type, User string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		switch req.Type {
		case "userRole":
			_, _ = w.Write([]byte(`{"role":"agent","data":{"user":"` + acct + `"}}`))
		case "metaAndAssetCtxs":
			_, _ = w.Write([]byte(`[{"universe":[{"name":"BTC","szDecimals":5,"maxLeverage":50}]},[{"markPx":"60000.0","midPx":"60000.5","oraclePx":"60001.0","funding":"0.0"}]]`))
		case "frontendOpenOrders":
			_, _ = w.Write([]byte(`[]`))
		case "clearinghouseState":
			if req.User != acct { // the stored account, not the wallet
				_, _ = w.Write([]byte(`{"assetPositions":[],"marginSummary":{"accountValue":"0.0","totalNtlPos":"0.0","totalRawUsd":"0.0","totalMarginUsed":"0.0"},"time":1708622398623,"withdrawable":"0.0"}`))
				return
			}
			_, _ = w.Write([]byte(`{"assetPositions":[],"marginSummary":{"accountValue":"100.0","totalNtlPos":"0.0","totalRawUsd":"100.0","totalMarginUsed":"0.0"},"time":1708622398623,"withdrawable":"100.0"}`))
		default:
			http.Error(w, "unknown", http.StatusUnprocessableEntity)
		}
	}))
	defer hs.Close()

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
	kek, _ := secrets.ParseKEK(secrets.GenerateKEK())
	keys, err := accounts.New(accounts.Config{DB: d, KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	p := tenancy.Principal{Tenant: u.Tenant, User: u.ID}
	if _, err := keys.Add(ctx, p, accounts.Hyperliquid, "hl", accounts.Credentials{APIKey: acct, Secret: key}); err != nil {
		t.Fatal(err)
	}
	v := &platform.Venues{Keys: keys, HyperliquidURL: hs.URL}

	_, perm, err := v.TestAccount(ctx, u.Tenant, "hl")
	if err != nil || perm.Check() != nil || !strings.Contains(perm.Note, signer.Address().String()) || !strings.Contains(perm.Note, "cannot withdraw") {
		t.Fatalf("test the account: %+v, %v", perm, err)
	}
	spec := deploy.Spec{Mode: deploy.Live, Venue: platform.VenueHyperliquid, Account: "hl", Pairs: []string{"BTC/USDC"}}
	mkts, err := v.Markets(ctx, spec)
	if err != nil || len(mkts) != 1 || mkts[0].Base+"/"+mkts[0].Quote != "BTC/USDC" {
		t.Fatalf("markets: %+v, %v", mkts, err)
	}
	if err := v.Account(ctx, u.Tenant, spec, "USDC", 0); err != nil {
		t.Fatalf("the live account: %v", err)
	}
	ex, err := v.Open(ctx, u.Tenant, spec)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := ex.Balances(ctx)
	if err != nil || len(bs) != 1 || bs[0].Asset != "USDC" || bs[0].Free.String() != "100.00000000" {
		t.Fatalf("balances: %+v, %v", bs, err)
	}

	paper := spec
	paper.Mode = deploy.Paper
	var fe *deploy.FieldError
	if _, err := v.Open(ctx, u.Tenant, paper); !errors.As(err, &fe) || fe.Field != "mode" {
		t.Fatalf("paper on hyperliquid: %v", err)
	}
	if err := v.Account(ctx, u.Tenant, paper, "USDC", 100); !errors.As(err, &fe) || fe.Field != "mode" {
		t.Fatalf("a paper account on hyperliquid: %v", err)
	}
}
