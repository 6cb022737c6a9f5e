package platform

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tradai/tradai/internal/accounts"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/exchange/alpaca"
)

// VenueAlpaca is Alpaca (US stocks): a live-mode deployment with a stored
// account of the venue alpaca; paper keys trade at Alpaca's paper API.
const VenueAlpaca = "alpaca"

// alpacaURL is where the Alpaca key keyID trades: AlpacaURL when set,
// else Alpaca's live API for a live key (its id starts with AK) and its
// paper API for every other (paper keys start with PK): an unknown key
// goes to paper money.
func (v *Venues) alpacaURL(keyID string) string {
	switch {
	case v.AlpacaURL != "":
		return v.AlpacaURL
	case strings.HasPrefix(keyID, "AK"):
		return alpaca.LiveURL
	}
	return alpaca.PaperURL
}

// alpacaClient is the Alpaca client for creds.
func (v *Venues) alpacaClient(creds accounts.Credentials, attempts int) (*alpaca.Client, error) {
	return alpaca.New(alpaca.Config{BaseURL: v.alpacaURL(creds.APIKey), DataURL: v.AlpacaDataURL, KeyID: creds.APIKey, Secret: creds.Secret,
		ExtendedHours: v.AlpacaExtendedHours, HTTP: v.HTTP, Clock: v.Clock, Log: v.Log, Attempts: attempts})
}

// alpacaLive refuses a paper deployment on Alpaca: paper mode is the
// simulator's.
func alpacaLive(spec deploy.Spec) error {
	if spec.Mode != deploy.Live {
		return deploy.Invalid("mode", `"paper" on alpaca: paper mode trades on the simulator ("sim"); to paper-trade at Alpaca, deploy in live mode with a stored alpaca account holding Alpaca paper keys (they trade at paper-api.alpaca.markets)`)
	}
	return nil
}

// openAlpaca is Open for the venue alpaca.
func (v *Venues) openAlpaca(ctx context.Context, tenant string, spec deploy.Spec) (exchange.Exchange, error) {
	if err := alpacaLive(spec); err != nil {
		return nil, err
	}
	_, creds, err := v.liveAccount(ctx, tenant, spec, true)
	if err != nil {
		return nil, err
	}
	c, err := v.alpacaClient(creds, 0)
	if err != nil {
		return nil, deploy.Invalid("venue", err.Error())
	}
	return c, nil
}

// alpacaMarkets is Markets for the venue alpaca. Alpaca lists its assets
// only to a key, and Markets has no tenant to open one with: it answers
// the deployment's own pairs (SYMBOL/USD), and checkAlpacaAccount, which
// has the tenant, checks them against the account's assets before the
// deployment is stored.
func alpacaMarkets(spec deploy.Spec) ([]exchange.Market, error) {
	if err := alpacaLive(spec); err != nil {
		return nil, err
	}
	out := make([]exchange.Market, 0, len(spec.Pairs))
	for _, p := range spec.Pairs {
		base, quote, ok := strings.Cut(p, "/")
		if ok && quote == "USD" && base != "" {
			out = append(out, exchange.Market{Symbol: base, Base: base, Quote: quote})
		}
	}
	return out, nil
}

// checkAlpacaAccount is Account for the venue alpaca: the tenant's stored
// alpaca account, whose assets list every pair.
func (v *Venues) checkAlpacaAccount(ctx context.Context, tenant string, spec deploy.Spec) error {
	if err := alpacaLive(spec); err != nil {
		return err
	}
	_, creds, err := v.liveAccount(ctx, tenant, spec, true)
	if err != nil {
		return err
	}
	c, err := v.alpacaClient(creds, 2)
	if err != nil {
		return deploy.Invalid("venue", err.Error())
	}
	mkts, err := c.Markets(ctx)
	if err != nil {
		return fmt.Errorf("read the assets of Alpaca account %s: %w", spec.Account, err)
	}
	for _, p := range spec.Pairs {
		if !slices.ContainsFunc(mkts, func(m exchange.Market) bool { return m.Base+"/"+m.Quote == p }) {
			return deploy.Invalid("pairs", fmt.Sprintf("%s: Alpaca lists no active, tradable asset of that symbol for account %s", p, spec.Account))
		}
	}
	return nil
}

// testAlpaca is TestAccount for an account of the venue alpaca.
func (v *Venues) testAlpaca(ctx context.Context, a accounts.Account, creds accounts.Credentials) (accounts.Account, accounts.Permissions, error) {
	c, err := v.alpacaClient(creds, 2)
	if err != nil {
		return a, accounts.Permissions{}, err
	}
	p, err := accounts.CheckAlpaca(ctx, c)
	if err != nil {
		return a, p, fmt.Errorf("test account %s at %s: %w", a.Name, v.alpacaURL(creds.APIKey), err)
	}
	return a, p, nil
}
