package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/tradai/tradai/internal/accounts"
	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client/clienttest"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/db/dbtest"
	"github.com/tradai/tradai/internal/jobs"
	"github.com/tradai/tradai/internal/runs"
	"github.com/tradai/tradai/internal/secrets"
	"github.com/tradai/tradai/internal/tenancy"
)

const (
	acctKey    = "KEYkeyKEYkeyKEYkeyKEYkeyKEYkeyKEYkeyKEYkeyKEYkeyKEYkeyKEYkey0001"
	acctSecret = "SECsecSECsecSECsecSECsecSECsecSECsecSECsecSECsecSECsecSECsec0001"
)

// The accounts API: the credentials go in and never come out; another
// tenant's account is not found; bad input is named without being echoed.
func TestAccountsAPI(t *testing.T) {
	dbtest.EachMigrated(t, func(t *testing.T, d *db.DB) {
		kek, _ := secrets.ParseKEK(secrets.GenerateKEK())
		e := newEnv(t, d, clienttest.Options{NoWorkers: true, KEK: kek})
		var all strings.Builder
		do := func(method, path, token string, body any) resp {
			r := e.do(method, path, token, body)
			all.Write(r.body)
			return r
		}
		req := apitype.AccountRequest{Venue: "binance", Name: "main", APIKey: acctKey, Secret: acctSecret}
		r := do("POST", "/api/v1/accounts", e.token, req)
		if r.status != http.StatusCreated {
			t.Fatalf("add: %d %s", r.status, r.body)
		}
		var a apitype.Account
		r.decode(t, &a)
		if a.Fingerprint != secrets.Fingerprint(acctKey) || a.Venue != "binance" || a.Name != "main" || !strings.HasPrefix(a.ID, "vac_") {
			t.Fatalf("added %+v", a)
		}
		if r := do("POST", "/api/v1/accounts", e.token, req); r.status != http.StatusConflict {
			t.Errorf("same name again: %d %s", r.status, r.body)
		}
		for _, path := range []string{"/api/v1/accounts/main", "/api/v1/accounts/" + a.ID} {
			if r := do("GET", path, e.token, nil); r.status != 200 {
				t.Errorf("GET %s: %d %s", path, r.status, r.body)
			}
			if r := do("GET", path, e.other, nil); r.status != http.StatusNotFound {
				t.Errorf("the other tenant's GET %s: %d %s", path, r.status, r.body)
			}
		}
		if r := do("POST", "/api/v1/accounts/"+a.ID+"/test", e.other, nil); r.status != http.StatusNotFound {
			t.Errorf("the other tenant tests it: %d %s", r.status, r.body)
		}
		if r := do("DELETE", "/api/v1/accounts/"+a.ID, e.other, nil); r.status != http.StatusNotFound {
			t.Errorf("the other tenant removes it: %d %s", r.status, r.body)
		}
		var l apitype.AccountList
		do("GET", "/api/v1/accounts", e.other, nil).decode(t, &l)
		if len(l.Accounts) != 0 {
			t.Errorf("the other tenant lists %+v", l)
		}
		do("GET", "/api/v1/accounts", e.token, nil).decode(t, &l)
		if len(l.Accounts) != 1 || l.Accounts[0].ID != a.ID {
			t.Errorf("list %+v", l)
		}
		// A hyperliquid account whose secret is no private key: the test
		// says what is wrong with the key, and nothing reaches the venue.
		do("POST", "/api/v1/accounts", e.token, apitype.AccountRequest{Venue: "hyperliquid", Name: "perps", APIKey: acctKey, Secret: acctSecret})
		var tr apitype.AccountTest
		if r := do("POST", "/api/v1/accounts/perps/test", e.token, nil); r.status >= 500 {
			t.Fatalf("test hyperliquid: %d %s", r.status, r.body)
		} else if r.status == 200 {
			if r.decode(t, &tr); tr.OK || strings.Contains(tr.Message, acctSecret) {
				t.Errorf("test hyperliquid: %+v", tr)
			}
		} else if strings.Contains(string(r.body), acctSecret) {
			t.Errorf("test hyperliquid quotes the secret: %s", r.body)
		}
		for _, tc := range []struct {
			req apitype.AccountRequest
			loc string
		}{
			{apitype.AccountRequest{Venue: "sim", Name: "x", APIKey: acctKey, Secret: "bad secret " + acctSecret}, "body.secret"},
			{apitype.AccountRequest{Venue: "sim", Name: "x", APIKey: "", Secret: acctSecret}, "body.api_key"},
			{apitype.AccountRequest{Venue: "sim", Name: "vac_x", APIKey: acctKey, Secret: acctSecret}, "body.name"},
			{apitype.AccountRequest{Venue: "kraken", Name: "x", APIKey: acctKey, Secret: acctSecret}, "body.venue"},
		} {
			r := do("POST", "/api/v1/accounts", e.token, tc.req)
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), tc.loc) {
				t.Errorf("%+v: %d %s, want 422 naming %s", tc.req.Name, r.status, r.body, tc.loc)
			}
		}
		if r := do("DELETE", "/api/v1/accounts/main", e.token, nil); r.status != 200 {
			t.Errorf("remove: %d %s", r.status, r.body)
		}
		if r := do("GET", "/api/v1/accounts/main", e.token, nil); r.status != http.StatusNotFound {
			t.Errorf("after remove: %d", r.status)
		}
		if s := all.String(); strings.Contains(s, acctKey) || strings.Contains(s, acctSecret) || strings.Contains(s, "SECsec") {
			t.Fatalf("an answer shows the credentials: %s", s)
		}
	})
}

// Without a key-encryption key the server says so instead of storing
// credentials it could not open.
func TestAccountsWithoutKEK(t *testing.T) {
	e := newEnv(t, sqliteDB(t), clienttest.Options{NoWorkers: true})
	r := e.do("POST", "/api/v1/accounts", e.token, apitype.AccountRequest{Venue: "sim", Name: "a", APIKey: acctKey, Secret: acctSecret})
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "key-encryption key") {
		t.Fatalf("add without a KEK: %d %s", r.status, r.body)
	}
}

// FuzzAddAccount: whatever a tenant sends to POST /api/v1/accounts, the
// answer is never a server error and never shows the secret it sent.
func FuzzAddAccount(f *testing.F) {
	d := sqliteDB(f)
	log := slog.New(slog.DiscardHandler)
	store := runs.New(d, nil, 3, log)
	svc, err := jobs.New(d, store, clienttest.ExampleData(), log, jobs.Options{})
	if err != nil {
		f.Fatal(err)
	}
	kek, _ := secrets.ParseKEK(secrets.GenerateKEK())
	acc, err := accounts.New(accounts.Config{DB: d, KEK: kek})
	if err != nil {
		f.Fatal(err)
	}
	auth := tenancy.New(d, nil, log)
	s, err := api.New(api.Deps{DB: d, Runs: store, Jobs: svc, Tenancy: auth, DataDir: clienttest.ExampleData(), Log: log, Version: "test", Accounts: acc}, api.Options{RateLimit: 1e9})
	if err != nil {
		f.Fatal(err)
	}
	b := &bare{env: &env{t: f, db: d}, auth: auth, handler: s.Handler()}
	b.token = b.newToken(f, "alice", "acme")
	for _, s := range []string{
		`{"venue":"binance","name":"main","api_key":"` + acctKey + `","secret":"` + acctSecret + `"}`,
		`{"venue":"sim","name":"a\u0000","api_key":"k","secret":"s s"}`,
		`{"venue":"sim","name":"x","api_key":1,"secret":"` + acctSecret + `"}`,
		`{"venue":"kraken"}`, `{`, `[]`, `null`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := b.serve("POST", "/api/v1/accounts", body)
		if rec.Code >= 500 {
			t.Fatalf("POST %q: %d %s", body, rec.Code, rec.Body)
		}
		var req apitype.AccountRequest
		if json.Unmarshal([]byte(body), &req) == nil && len(req.Secret) >= 16 && !strings.Contains(req.Name+req.Venue+req.APIKey, req.Secret) &&
			strings.Contains(rec.Body.String(), req.Secret) {
			t.Fatalf("POST %q: the answer shows the secret: %s", body, rec.Body)
		}
		if rec.Code == http.StatusCreated {
			var a apitype.Account
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil || b.serve("DELETE", "/api/v1/accounts/"+a.ID, "").Code != http.StatusOK {
				t.Fatalf("added %s but cannot remove it", rec.Body)
			}
		}
	})
}
