package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tradai/tradai/internal/accounts"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/secrets"
	"github.com/tradai/tradai/internal/tenancy"
)

const accountsPath = "/api/v1/accounts"

// AccountTester is the test-connection of a stored account (the
// platform's Venues).
type AccountTester interface {
	TestAccount(ctx context.Context, tenant, ref string) (accounts.Account, accounts.Permissions, error)
}

// Accounts are the venue-account operations as the API and the CLI's
// local mode call them, tenant-scoped: another tenant's account is not
// found. No answer and no log line holds a key or a secret. Errors are
// *apitype.Problem.
type Accounts struct {
	store  *accounts.Store
	tester AccountTester
	log    *slog.Logger
}

// NewAccounts returns the operations over store; tester may be nil (test
// answers 501).
func NewAccounts(store *accounts.Store, tester AccountTester, log *slog.Logger) (*Accounts, error) {
	if store == nil {
		return nil, errors.New("accounts: a store is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Accounts{store: store, tester: tester, log: log}, nil
}

// AccountView is a as the API shows it.
func AccountView(a accounts.Account) apitype.Account {
	return apitype.Account{ID: a.ID, Venue: a.Venue, Name: a.Name, Fingerprint: a.Fingerprint, CreatedAt: a.Created.UTC(), CreatedBy: a.CreatedBy}
}

// storeErr is the answer to an account store error; what the client sent
// is never echoed (it may hold the secret).
func (o *Accounts) storeErr(what, ref string, err error) error {
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		return problem(http.StatusNotFound, apitype.CodeNotFound, "no account "+ref)
	case errors.Is(err, accounts.ErrExists):
		return problem(http.StatusConflict, apitype.CodeConflict, fmt.Sprintf("you have an account named %s: remove it first, or pick another name", ref))
	case errors.Is(err, secrets.ErrNoKEK):
		return problem(http.StatusServiceUnavailable, apitype.CodeNotReady, "this server has no key-encryption key, so it cannot store or open account credentials (its operator sets one: docs/operations.md)")
	case errors.Is(err, secrets.ErrWrongKEK), errors.Is(err, secrets.ErrCorrupt):
		o.log.Error(what+" account: cannot open its credentials", "account", ref, "err", err)
		return problem(http.StatusInternalServerError, apitype.CodeInternal, "the account's credentials cannot be opened with this server's key-encryption key; the server logged why")
	}
	o.log.Error(what+" account failed", "err", err)
	return problem(http.StatusInternalServerError, apitype.CodeInternal, what+" account failed; the server logged why")
}

// Add stores req's account; the answer shows its fingerprint, never the
// key.
func (o *Accounts) Add(ctx context.Context, p tenancy.Principal, req apitype.AccountRequest) (apitype.Account, error) {
	if err := accounts.CheckVenue(req.Venue); err != nil {
		return apitype.Account{}, invalid("body.venue", "want one of binance, alpaca, hyperliquid, sim", req.Venue)
	}
	if err := accounts.CheckName(req.Name); err != nil {
		return apitype.Account{}, invalid("body.name", "want 1 to 64 letters, digits, '.', '_' or '-' (not starting with vac_)", nil)
	}
	for _, f := range []struct{ loc, v string }{{"body.api_key", req.APIKey}, {"body.secret", req.Secret}} {
		if err := accounts.CheckCredential(f.v); err != nil {
			return apitype.Account{}, invalid(f.loc, "want 1 to 512 printable ASCII characters without spaces", nil)
		}
	}
	a, err := o.store.Add(ctx, p, req.Venue, req.Name, accounts.Credentials{APIKey: req.APIKey, Secret: req.Secret})
	if err != nil {
		return apitype.Account{}, o.storeErr("add", req.Name, err)
	}
	return AccountView(a), nil
}

// List is the tenant's accounts.
func (o *Accounts) List(ctx context.Context, p tenancy.Principal) (apitype.AccountList, error) {
	l, err := o.store.List(ctx, p.Tenant)
	if err != nil {
		return apitype.AccountList{}, o.storeErr("list", "", err)
	}
	out := apitype.AccountList{Accounts: make([]apitype.Account, 0, len(l))}
	for _, a := range l {
		out.Accounts = append(out.Accounts, AccountView(a))
	}
	return out, nil
}

// Get is the tenant's account ref (name or id).
func (o *Accounts) Get(ctx context.Context, p tenancy.Principal, ref string) (apitype.Account, error) {
	a, err := o.store.Get(ctx, p.Tenant, ref)
	if err != nil {
		return apitype.Account{}, o.storeErr("show", ref, err)
	}
	return AccountView(a), nil
}

// Remove deletes the tenant's account ref.
func (o *Accounts) Remove(ctx context.Context, p tenancy.Principal, ref string) (apitype.Account, error) {
	a, err := o.store.Remove(ctx, p, ref)
	if err != nil {
		return apitype.Account{}, o.storeErr("remove", ref, err)
	}
	return AccountView(a), nil
}

// Test asks the venue what the account's key may do.
func (o *Accounts) Test(ctx context.Context, p tenancy.Principal, ref string) (apitype.AccountTest, error) {
	if o.tester == nil {
		return apitype.AccountTest{}, problem(http.StatusNotImplemented, apitype.CodeNotFound, "this server cannot test accounts")
	}
	a, perm, err := o.tester.TestAccount(ctx, p.Tenant, ref)
	switch {
	case errors.Is(err, accounts.ErrNotFound), errors.Is(err, secrets.ErrNoKEK), errors.Is(err, secrets.ErrWrongKEK), errors.Is(err, secrets.ErrCorrupt):
		return apitype.AccountTest{}, o.storeErr("test", ref, err)
	case err != nil && a.ID == "":
		return apitype.AccountTest{}, o.storeErr("test", ref, err)
	case err != nil:
		o.log.Warn("account test failed", "tenant", p.Tenant, "account", a.ID, "err", err)
		return apitype.AccountTest{Account: AccountView(a), Message: err.Error()}, nil
	}
	out := apitype.AccountTest{Account: AccountView(a), CanTrade: &perm.CanTrade, CanWithdraw: &perm.CanWithdraw}
	if verdict := perm.Check(); verdict != nil {
		out.Message = "refused: " + verdict.Error()
	} else {
		out.OK, out.Message = true, "the key works, may trade and may not withdraw"
	}
	if perm.Note != "" {
		out.Message += " (" + perm.Note + ")"
	}
	o.log.Info("account tested", "tenant", p.Tenant, "account", a.ID, "ok", out.OK, "can_trade", perm.CanTrade, "can_withdraw", perm.CanWithdraw)
	return out, nil
}

type accountAddInput struct {
	Body apitype.AccountRequest
}

type accountInput struct {
	Ref string `path:"ref" maxLength:"200" doc:"The account's name or id"`
}

type accountOutput struct {
	Body apitype.Account
}

type accountListOutput struct {
	Body apitype.AccountList
}

type accountTestOutput struct {
	Body apitype.AccountTest
}

// accounts is the operations, or the 501 of a server without them.
func (s *Server) accounts(ctx context.Context) (*Accounts, tenancy.Principal, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, p, err
	}
	if s.acc == nil {
		return nil, p, problem(http.StatusNotImplemented, apitype.CodeNotFound, "this server keeps no venue accounts")
	}
	return s.acc, p, nil
}

func (s *Server) registerAccounts() {
	tags := []string{"accounts"}
	op := func(id, method, path, summary, desc string) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: accountsPath + path, Summary: summary, Description: desc, Tags: tags, Security: secured}
	}
	add := op("add-account", http.MethodPost, "", "Store a venue account's API key and secret",
		"The key and secret are sealed at rest (AES-256-GCM envelope encryption under the server's key-encryption key) and never answered, logged or given to a strategy; "+
			"the answer shows the key's fingerprint (first 8 hex digits of its SHA-256). A name you already use is a 409. "+
			"Make the key without withdrawals: POST …/{ref}/test refuses one that can withdraw.")
	add.DefaultStatus = http.StatusCreated
	add.Metadata = map[string]any{secretBody: true}
	huma.Register(s.api, add, func(ctx context.Context, in *accountAddInput) (*accountOutput, error) {
		o, p, err := s.accounts(ctx)
		if err != nil {
			return nil, err
		}
		v, err := o.Add(ctx, p, in.Body)
		return &accountOutput{Body: v}, err
	})
	huma.Register(s.api, op("list-accounts", http.MethodGet, "", "Your venue accounts, by name (never their keys)", ""),
		func(ctx context.Context, _ *struct{}) (*accountListOutput, error) {
			o, p, err := s.accounts(ctx)
			if err != nil {
				return nil, err
			}
			v, err := o.List(ctx, p)
			return &accountListOutput{Body: v}, err
		})
	huma.Register(s.api, op("get-account", http.MethodGet, "/{ref}", "A venue account, by name or id", ""),
		func(ctx context.Context, in *accountInput) (*accountOutput, error) {
			o, p, err := s.accounts(ctx)
			if err != nil {
				return nil, err
			}
			v, err := o.Get(ctx, p, in.Ref)
			return &accountOutput{Body: v}, err
		})
	huma.Register(s.api, op("remove-account", http.MethodDelete, "/{ref}", "Remove a venue account and its sealed credentials",
		"Live deployments trading with it fail when their runner next opens the venue. The answer is the removed account."),
		func(ctx context.Context, in *accountInput) (*accountOutput, error) {
			o, p, err := s.accounts(ctx)
			if err != nil {
				return nil, err
			}
			v, err := o.Remove(ctx, p, in.Ref)
			return &accountOutput{Body: v}, err
		})
	huma.Register(s.api, op("test-account", http.MethodPost, "/{ref}/test", "Test a venue account's key at the venue",
		"Binance and sim accounts: the key works (GET /api/v3/account), may trade (canTrade) and may NOT withdraw (GET /sapi/v1/account/apiRestrictions enableWithdrawals); ok is false otherwise, with why. "+
			"Hyperliquid: the API wallet (the stored private key) must be an agent the stored account address approved (userRole), which can trade and cannot withdraw; the message names the wallet. "+
			"Alpaca: the key works (GET /v2/account), the account is ACTIVE and neither trading nor the account is blocked; Alpaca keys cannot withdraw."),
		func(ctx context.Context, in *accountInput) (*accountTestOutput, error) {
			o, p, err := s.accounts(ctx)
			if err != nil {
				return nil, err
			}
			v, err := o.Test(ctx, p, in.Ref)
			return &accountTestOutput{Body: v}, err
		})
}
