package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/exchange/alpaca"
)

// ErrUnsupported is returned by a test-connection of a venue whose
// adapter does not exist yet.
var ErrUnsupported = errors.New("testing the connection is not supported for this venue yet")

// ErrCanWithdraw refuses a key that may withdraw funds: a trading key
// that leaks must not be able to empty the account.
var ErrCanWithdraw = errors.New("the key may withdraw funds: make a key without withdrawals (Binance: API management, untick Enable Withdrawals) and add that one")

// ErrCannotTrade refuses a key that may not trade.
var ErrCannotTrade = errors.New("the key may not trade: enable spot trading on it at the venue (Binance), or see in the dashboard why the account is not ACTIVE or is blocked (Alpaca)")

// Permissions are what a venue says a key may do.
type Permissions struct {
	CanTrade    bool // Binance: /api/v3/account canTrade; Alpaca: /v2/account ACTIVE, not blocked
	CanWithdraw bool // Binance: /sapi/v1/account/apiRestrictions enableWithdrawals; Alpaca: never
}

// Check is the verdict on p: nil, ErrCannotTrade or ErrCanWithdraw.
func (p Permissions) Check() error {
	switch {
	case p.CanWithdraw:
		return ErrCanWithdraw
	case !p.CanTrade:
		return ErrCannotTrade
	}
	return nil
}

// CheckBinance asks a Binance(-compatible) venue, through c (signed with
// the account's key), what the key may do: GET /api/v3/account (the key
// works, canTrade) and GET /sapi/v1/account/apiRestrictions
// (enableWithdrawals). Either answer failing is an error.
func CheckBinance(ctx context.Context, c *binance.Client) (Permissions, error) {
	var acct struct {
		CanTrade *bool `json:"canTrade"`
	}
	if _, err := c.Do(ctx, binance.Request{Path: "/api/v3/account", Signed: true, Weight: 20}, func(b []byte) error {
		return json.Unmarshal(b, &acct)
	}); err != nil {
		return Permissions{}, fmt.Errorf("read the account (does the key work?): %w", err)
	}
	if acct.CanTrade == nil {
		return Permissions{}, errors.New("read the account: the answer has no canTrade")
	}
	var r struct {
		EnableWithdrawals *bool `json:"enableWithdrawals"`
	}
	if _, err := c.Do(ctx, binance.Request{Path: "/sapi/v1/account/apiRestrictions", Signed: true, Weight: 1}, func(b []byte) error {
		return json.Unmarshal(b, &r)
	}); err != nil {
		return Permissions{}, fmt.Errorf("read the key's restrictions: %w", err)
	}
	if r.EnableWithdrawals == nil {
		return Permissions{}, errors.New("read the key's restrictions: the answer has no enableWithdrawals")
	}
	return Permissions{CanTrade: *acct.CanTrade, CanWithdraw: *r.EnableWithdrawals}, nil
}

// CheckAlpaca asks Alpaca, through c (the account's key), what the key
// may do: GET /v2/account must answer (the key works) with status ACTIVE
// and neither trading_blocked nor account_blocked. Alpaca's API keys
// cannot withdraw — money leaves an Alpaca account only through its
// dashboard (the Trading API has no transfer endpoint) — so CanWithdraw
// is false for every key that works.
func CheckAlpaca(ctx context.Context, c *alpaca.Client) (Permissions, error) {
	a, err := c.Account(ctx)
	if err != nil {
		return Permissions{}, fmt.Errorf("read the account (does the key work?): %w", err)
	}
	return Permissions{CanTrade: a.Status == "ACTIVE" && !a.TradingBlocked && !a.AccountBlocked}, nil
}
