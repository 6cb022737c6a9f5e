package accounts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/accounts"
	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/alpaca"
	"github.com/tradai/tradai/internal/exchange/alpaca/alpacatest"
	"github.com/tradai/tradai/internal/secrets"
	"github.com/tradai/tradai/internal/tenancy"
)

const (
	testKey    = "AKEYthatIsSixtyFourCharactersLongxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	testSecret = "ASECRETthatNobodyMaySeeEverxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
)

type bundle struct {
	d          *db.DB
	s          *accounts.Store
	kek        *secrets.KEK
	alice, bob tenancy.Principal
	logs       *bytes.Buffer
}

func setup(t *testing.T, d *db.DB) bundle {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(time.UnixMilli(1_700_000_000_000))
	ten := tenancy.New(d, clk, nil)
	a, err := ten.CreateUser(ctx, "alice", "acme")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ten.CreateUser(ctx, "bob", "other")
	if err != nil {
		t.Fatal(err)
	}
	kek, _ := secrets.ParseKEK(secrets.GenerateKEK())
	var logs bytes.Buffer
	s, err := accounts.New(accounts.Config{DB: d, KEK: kek, Clock: clk, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return bundle{d: d, s: s, kek: kek, alice: tenancy.Principal{Tenant: a.Tenant, User: a.ID}, bob: tenancy.Principal{Tenant: b.Tenant, User: b.ID}, logs: &logs}
}

func TestStore(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := setup(t, d)
		creds := accounts.Credentials{APIKey: testKey, Secret: testSecret}
		a, err := b.s.Add(ctx, b.alice, accounts.Binance, "main", creds)
		if err != nil {
			t.Fatal(err)
		}
		if a.Fingerprint != secrets.Fingerprint(testKey) || a.Venue != "binance" || a.CreatedBy != b.alice.User || a.KEK != b.kek.ID() {
			t.Fatalf("added %+v", a)
		}
		if _, err := b.s.Add(ctx, b.alice, accounts.Binance, "main", creds); !errors.Is(err, accounts.ErrExists) {
			t.Fatalf("second add of the name: %v", err)
		}
		if _, err := b.s.Add(ctx, b.bob, accounts.Binance, "main", creds); err != nil {
			t.Fatalf("another tenant may use the name: %v", err)
		}
		for _, bad := range []struct{ venue, name string }{{"kraken", "x"}, {"sim", ""}, {"sim", "a b"}, {"sim", "vac_1"}, {"sim", strings.Repeat("n", 65)}} {
			if _, err := b.s.Add(ctx, b.alice, bad.venue, bad.name, creds); !errors.Is(err, accounts.ErrInvalid) {
				t.Errorf("add %q %q: %v, want ErrInvalid", bad.venue, bad.name, err)
			}
		}
		// Open: by name and by id; another tenant's is not found.
		for _, ref := range []string{"main", a.ID} {
			got, c, err := b.s.Credentials(ctx, b.alice.Tenant, ref)
			if err != nil || c != creds || got.ID != a.ID {
				t.Fatalf("Credentials(%s) = %v, %v", ref, got, err)
			}
		}
		if _, _, err := b.s.Credentials(ctx, b.bob.Tenant, a.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("bob opens alice's account: %v", err)
		}
		if _, err := b.s.Remove(ctx, b.bob, a.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("bob removes alice's account: %v", err)
		}
		l, err := b.s.List(ctx, b.alice.Tenant)
		if err != nil || len(l) != 1 || l[0].ID != a.ID {
			t.Fatalf("List = %v, %v", l, err)
		}
		// Nothing in the database or the logs shows the key or the secret.
		var row string
		if err := d.QueryRow(ctx, `SELECT id || venue || name || fingerprint || kek_id || sealed FROM venue_accounts WHERE id = ?`, a.ID).Scan(&row); err != nil {
			t.Fatal(err)
		}
		var audit string
		if err := d.QueryRow(ctx, `SELECT detail FROM audit_log WHERE action = 'account.add' AND target = ?`, a.ID).Scan(&audit); err != nil {
			t.Fatal(err)
		}
		for what, text := range map[string]string{"row": row, "audit": audit, "logs": b.logs.String()} {
			if strings.Contains(text, testKey) || strings.Contains(text, testSecret) {
				t.Fatalf("the %s shows the credentials: %s", what, text)
			}
		}
		if _, err := b.s.Remove(ctx, b.alice, "main"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.s.Get(ctx, b.alice.Tenant, "main"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("after remove: %v", err)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action IN ('account.add', 'account.remove') AND tenant_id = ?`, b.alice.Tenant).Scan(&n); err != nil || n != 2 {
			t.Fatalf("audit rows = %d, %v", n, err)
		}
	})
}

func TestNoKEK(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		b := setup(t, d)
		if _, err := b.s.Add(context.Background(), b.alice, "sim", "a", accounts.Credentials{APIKey: "k", Secret: "s"}); err != nil {
			t.Fatal(err)
		}
		s, _ := accounts.New(accounts.Config{DB: d})
		if _, err := s.Add(context.Background(), b.alice, "sim", "b", accounts.Credentials{APIKey: "k", Secret: "s"}); !errors.Is(err, secrets.ErrNoKEK) {
			t.Fatalf("add without a KEK: %v", err)
		}
		if _, _, err := s.Credentials(context.Background(), b.alice.Tenant, "a"); !errors.Is(err, secrets.ErrNoKEK) {
			t.Fatalf("open without a KEK: %v", err)
		}
		other, _ := secrets.ParseKEK(secrets.GenerateKEK())
		s, _ = accounts.New(accounts.Config{DB: d, KEK: other})
		if _, _, err := s.Credentials(context.Background(), b.alice.Tenant, "a"); !errors.Is(err, secrets.ErrWrongKEK) {
			t.Fatalf("open with the wrong KEK: %v", err)
		}
	})
}

func TestRotate(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := setup(t, d)
		for i, p := range []tenancy.Principal{b.alice, b.alice, b.bob} {
			if _, err := b.s.Add(ctx, p, "sim", fmt.Sprint("a", i), accounts.Credentials{APIKey: fmt.Sprint("key", i), Secret: fmt.Sprint("secret", i)}); err != nil {
				t.Fatal(err)
			}
		}
		next, _ := secrets.ParseKEK(secrets.GenerateKEK())
		wrong, _ := secrets.ParseKEK(secrets.GenerateKEK())
		// With the wrong old KEK nothing moves.
		if _, err := b.s.Rotate(ctx, wrong, next); !errors.Is(err, secrets.ErrWrongKEK) {
			t.Fatalf("rotate from the wrong KEK: %v", err)
		}
		if _, c, err := b.s.Credentials(ctx, b.alice.Tenant, "a0"); err != nil || c.Secret != "secret0" {
			t.Fatalf("after a failed rotation the old KEK no longer opens: %v", err)
		}
		r, err := b.s.Rotate(ctx, b.kek, next)
		if err != nil || r.Rewrapped != 3 || r.Already != 0 {
			t.Fatalf("rotate = %+v, %v", r, err)
		}
		if r, err := b.s.Rotate(ctx, b.kek, next); err != nil || r.Rewrapped != 0 || r.Already != 3 {
			t.Fatalf("rotate again = %+v, %v", r, err)
		}
		s2, _ := accounts.New(accounts.Config{DB: d, KEK: next})
		for i, p := range []tenancy.Principal{b.alice, b.alice, b.bob} {
			if a, c, err := s2.Credentials(ctx, p.Tenant, fmt.Sprint("a", i)); err != nil || c.Secret != fmt.Sprint("secret", i) || a.KEK != next.ID() {
				t.Fatalf("a%d under the new KEK: %v %v", i, a, err)
			}
		}
		if _, _, err := b.s.Credentials(ctx, b.alice.Tenant, "a0"); !errors.Is(err, secrets.ErrWrongKEK) {
			t.Fatalf("the old KEK still opens: %v", err)
		}
	})
}

func TestCredentialsNeverPrint(t *testing.T) {
	c := accounts.Credentials{APIKey: testKey, Secret: testSecret}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "c", c, "p", &c)
	j, _ := json.Marshal(map[string]any{"c": c})
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q", c, c, c, c, c), fmt.Sprintf("%+v", &c), string(j), logs.String()} {
		if strings.Contains(s, "AKEY") || strings.Contains(s, "ASECRET") {
			t.Fatalf("credentials shown: %s", s)
		}
	}
}

func TestReadCredentials(t *testing.T) {
	c, err := accounts.ReadCredentials(strings.NewReader("\n  " + testKey + "  \r\n\n" + testSecret + "\nignored\n"))
	if err != nil || c.APIKey != testKey || c.Secret != testSecret {
		t.Fatalf("ReadCredentials = %v", err)
	}
	for _, in := range []string{"", "onlykey\n", "key\nse cret\n", "key\nsecr\x00et\n"} {
		if _, err := accounts.ReadCredentials(strings.NewReader(in)); !errors.Is(err, accounts.ErrInvalid) {
			t.Errorf("ReadCredentials(%q) = %v, want ErrInvalid", in, err)
		}
	}
}

func FuzzReadCredentials(f *testing.F) {
	f.Add("key\nsecret\n")
	f.Add("\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := accounts.ReadCredentials(strings.NewReader(in))
		if err != nil {
			if strings.Contains(err.Error(), strings.TrimSpace(in)) && strings.TrimSpace(in) != "" && len(strings.TrimSpace(in)) > 8 {
				t.Fatalf("the error echoes the input: %v", err)
			}
			return
		}
		if c.APIKey == "" || c.Secret == "" || strings.ContainsAny(c.APIKey+c.Secret, " \t\r\n") {
			t.Fatalf("accepted %q as %q/%q", in, c.APIKey, c.Secret)
		}
	})
}

// venue answers /api/v3/account and /sapi/v1/account/apiRestrictions.
func venue(t *testing.T, canTrade, canWithdraw bool) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-MBX-APIKEY") != "k" || r.URL.Query().Get("signature") == "" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}`)
			return
		}
		switch r.URL.Path {
		case "/api/v3/account":
			fmt.Fprintf(w, `{"canTrade":%v,"canWithdraw":%v,"balances":[]}`, canTrade, canWithdraw)
		case "/sapi/v1/account/apiRestrictions":
			fmt.Fprintf(w, `{"enableWithdrawals":%v,"enableSpotAndMarginTrading":%v}`, canWithdraw, canTrade)
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func client(t *testing.T, url, key string) *binance.Client {
	c, err := binance.New(binance.Config{BaseURL: url, APIKey: key, Secret: "s", Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckBinance(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		trade, withdraw bool
		want            error
	}{{true, false, nil}, {true, true, accounts.ErrCanWithdraw}, {false, false, accounts.ErrCannotTrade}} {
		p, err := accounts.CheckBinance(ctx, client(t, venue(t, tc.trade, tc.withdraw), "k"))
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Check(); !errors.Is(got, tc.want) {
			t.Errorf("trade %v withdraw %v: %v, want %v", tc.trade, tc.withdraw, got, tc.want)
		}
	}
	if _, err := accounts.CheckBinance(ctx, client(t, venue(t, true, false), "wrong")); err == nil {
		t.Fatal("a wrong key passed")
	}
}

func TestCheckAlpaca(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		status        string
		trading, acct bool
		want          error
	}{{"ACTIVE", false, false, nil}, {"ACTIVE", true, false, accounts.ErrCannotTrade}, {"ACTIVE", false, true, accounts.ErrCannotTrade},
		{"ACCOUNT_UPDATED", false, false, accounts.ErrCannotTrade}} {
		srv := alpacatest.New(alpacatest.Config{KeyID: "PKkey", Secret: "s"})
		srv.SetAccount(tc.status, tc.trading, tc.acct)
		hs := httptest.NewServer(srv)
		c, err := alpaca.New(alpaca.Config{BaseURL: hs.URL, KeyID: "PKkey", Secret: "s", HTTP: hs.Client()})
		if err != nil {
			t.Fatal(err)
		}
		p, err := accounts.CheckAlpaca(ctx, c)
		if err != nil || p.CanWithdraw {
			t.Fatalf("%+v: %+v, %v", tc, p, err)
		}
		if got := p.Check(); !errors.Is(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc, got, tc.want)
		}
		bad, _ := alpaca.New(alpaca.Config{BaseURL: hs.URL, KeyID: "PKkey", Secret: "wrong", HTTP: hs.Client()})
		if _, err := accounts.CheckAlpaca(ctx, bad); !errors.Is(err, exchange.ErrAuth) {
			t.Errorf("a wrong key: %v, want ErrAuth", err)
		}
		hs.Close()
	}
}
