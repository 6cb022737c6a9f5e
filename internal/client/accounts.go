package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tradai/tradai/internal/api/apitype"
)

const accountsPath = "/api/v1/accounts"

func accountPath(ref string) string { return accountsPath + "/" + url.PathEscape(ref) }

// AddAccount stores a venue account's key and secret (sealed by the
// server; the answer shows the key's fingerprint only).
func (c *Client) AddAccount(ctx context.Context, req apitype.AccountRequest) (apitype.Account, error) {
	var a apitype.Account
	err := c.do(ctx, call{what: "add account " + req.Name, prep: "at", method: http.MethodPost, path: accountsPath, body: req}, &a)
	return a, err
}

// Accounts lists the tenant's venue accounts.
func (c *Client) Accounts(ctx context.Context) ([]apitype.Account, error) {
	var l apitype.AccountList
	err := c.do(ctx, call{what: "list accounts", prep: "from", method: http.MethodGet, path: accountsPath, repeatable: true}, &l)
	return l.Accounts, err
}

// Account is the tenant's venue account ref (name or id).
func (c *Client) Account(ctx context.Context, ref string) (apitype.Account, error) {
	var a apitype.Account
	err := c.do(ctx, call{what: "get account " + ref, prep: "from", method: http.MethodGet, path: accountPath(ref), repeatable: true}, &a)
	return a, err
}

// RemoveAccount removes the tenant's venue account ref.
func (c *Client) RemoveAccount(ctx context.Context, ref string) (apitype.Account, error) {
	var a apitype.Account
	err := c.do(ctx, call{what: "remove account " + ref, prep: "at", method: http.MethodDelete, path: accountPath(ref)}, &a)
	return a, err
}

// TestAccount asks the venue what the account's key may do.
func (c *Client) TestAccount(ctx context.Context, ref string) (apitype.AccountTest, error) {
	var t apitype.AccountTest
	err := c.do(ctx, call{what: "test account " + ref, prep: "at", method: http.MethodPost, path: accountPath(ref) + "/test", repeatable: true}, &t)
	return t, err
}
