package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/exchange/alpaca"
	"github.com/tradai/tradai/internal/hyperliquid"
)

// ErrCanWithdraw refuses a key that may withdraw funds: a trading key
// that leaks must not be able to empty the account.
var ErrCanWithdraw = errors.New("the key may withdraw funds: make a key without withdrawals (Binance: API management, untick Enable Withdrawals; Hyperliquid: an API wallet, not the account's own key) and add that one")

// ErrCannotTrade refuses a key that may not trade.
var ErrCannotTrade = errors.New("the key may not trade: enable spot trading on it at the venue (Binance), approve the API wallet for the account (Hyperliquid), or see in the dashboard why the account is not ACTIVE or is blocked (Alpaca)")

// Permissions are what a venue says a key may do.
type Permissions struct {
	CanTrade    bool // Binance: /api/v3/account canTrade; Alpaca: /v2/account ACTIVE, not blocked
	CanWithdraw bool // Binance: /sapi/v1/account/apiRestrictions enableWithdrawals; Alpaca: never
	// Note is what else the venue said, in words (Hyperliquid: the API
	// wallet's address and the account it trades for).
	Note string
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

// CheckHyperliquid asks Hyperliquid, through c (the stored account's
// address and its API wallet's key), what the key may do: the venue's
// userRole of the wallet's address. An "agent" (an API wallet) approved by
// the stored account may trade and may not withdraw; the account's own key
// ("user") could withdraw and is refused; an address no account approved
// ("missing": never approved, expired or revoked) may not trade.
func CheckHyperliquid(ctx context.Context, c *hyperliquid.Client) (Permissions, error) {
	if c.Signer() == nil {
		return Permissions{}, errors.New("no API wallet key")
	}
	wallet := c.Signer().Address().String()
	var r hyperliquid.UserRole
	if err := c.Info(ctx, hyperliquid.Obj{{K: "type", V: "userRole"}, {K: "user", V: wallet}}, &r); err != nil {
		return Permissions{}, fmt.Errorf("ask the role of the API wallet %s: %w", wallet, err)
	}
	switch r.Role {
	case "agent":
		if r.Data == nil || !strings.EqualFold(r.Data.User, c.Account()) {
			user := ""
			if r.Data != nil {
				user = r.Data.User
			}
			return Permissions{}, fmt.Errorf("the API wallet %s trades for the account %s, not for the stored account %s: store that account's address as the API key", wallet, user, c.Account())
		}
		return Permissions{CanTrade: true, Note: fmt.Sprintf("API wallet %s, approved by the account %s: an API (agent) wallet can trade but cannot withdraw or transfer funds", wallet, c.Account())}, nil
	case "user":
		return Permissions{CanTrade: true, CanWithdraw: true, Note: fmt.Sprintf("the key is the own key of the account %s, which can withdraw: make an API wallet (app.hyperliquid.xyz → API), approve it, and store its key", wallet)}, nil
	case "missing":
		return Permissions{Note: fmt.Sprintf("no account has approved the wallet %s (or its approval expired): approve it as an API wallet of %s", wallet, c.Account())}, nil
	}
	return Permissions{}, fmt.Errorf("the wallet %s is a %q, not an API wallet", wallet, r.Role)
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
