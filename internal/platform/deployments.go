package platform

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/trace"

	"github.com/tradai/tradai/internal/accounts"
	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/exchange"
	exbinance "github.com/tradai/tradai/internal/exchange/binance"
	exhyperliquid "github.com/tradai/tradai/internal/exchange/hyperliquid"
	"github.com/tradai/tradai/internal/hyperliquid"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/risk"
	"github.com/tradai/tradai/internal/runner"
	"github.com/tradai/tradai/internal/sim/simstore"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/telemetry"
	"github.com/tradai/tradai/sdk"
)

// The venues a deployment names (deploy.Spec.Venue).
const (
	// VenueSim is the platform's simulator: the one `tradai serve --sim`
	// runs, or the one Config.SimURL names.
	VenueSim = "sim"
	// VenueBinance is Binance itself (spot): live deployments only, with
	// a stored account of the venue binance.
	VenueBinance = "binance"
	// VenueHyperliquid is Hyperliquid's perpetuals (live only), at
	// Venues.HyperliquidURL.
	VenueHyperliquid = "hyperliquid"
)

// DefaultBinanceURL is Binance's spot API, where an account of the venue
// binance is tested and live deployments on binance trade;
// DefaultBinanceStreamURL its market streams.
const (
	DefaultBinanceURL       = "https://api.binance.com"
	DefaultBinanceStreamURL = "wss://stream.binance.com:9443"
)

// Venues opens the venues deployments trade on, for the API (checking a
// new deployment's venue, account and pairs) and the runner tier alike.
// Accounts are the tenant's simulator accounts (internal/sim/simstore):
// the venue "sim" is the platform's simulator, and a Binance-compatible
// URL (http://…, https://…) is another simulator on the same database
// (`tradai sim`). A paper deployment's account is created on first use,
// funded with the config's dry_run_wallet in the stake currency. A live
// deployment's account is one the tenant stored (Keys, internal/accounts)
// for the deployment's venue: a "sim" account for the simulator "sim" or
// a simulator URL; its credentials are opened here, for the venue client
// alone — the runner and the strategy never see them.
type Venues struct {
	// SimURL is the base URL of the simulator "sim" names (nil or "": no
	// simulator), read when a venue is opened: the in-process simulator's
	// port is known only once it listens.
	SimURL func() string
	// SimAdminToken is the simulator's admin token (its /sim/v1
	// endpoints create and fund accounts).
	SimAdminToken string
	// URLs are the Binance-compatible base URLs a deployment may name as
	// its venue besides "sim" (the operator's list: a tenant must not make
	// the server call any address it likes); AnyURL allows every URL (the
	// CLI's local mode, on the user's own machine).
	URLs     []string
	AnyURL   bool
	Accounts *simstore.Store
	// Keys are the tenants' stored venue accounts (nil: no live mode).
	Keys *accounts.Store
	// BinanceURL is where an account of the venue binance is tested and
	// live deployments on binance trade (DefaultBinanceURL when empty);
	// BinanceStreamURL their market streams (DefaultBinanceStreamURL when
	// BinanceURL is empty too, else the streams of BinanceURL's host: a
	// simulator serves both).
	BinanceURL       string
	BinanceStreamURL string
	// HyperliquidURL is Hyperliquid's API (hyperliquid.MainnetURL when
	// empty; hyperliquid.TestnetURL for the testnet). Actions are signed
	// for mainnet at the mainnet URL and for the testnet at any other.
	HyperliquidURL string
	HTTP           *http.Client // nil: the Binance client core's
	// Observe gives the observer of a venue's requests (telemetry.Venue;
	// nil: none). venue is the deployment's: "sim" or an allowed URL.
	Observe func(venue string) binance.Observer
	// Tracer makes the spans of the venues' requests (nil: none).
	Tracer trace.Tracer
	Clock  clock.Clock
	Log    *slog.Logger

	// AlpacaURL is Alpaca's trading API for every alpaca account (empty:
	// by the key, paper-api.alpaca.markets for paper keys, api.alpaca.markets
	// for live ones); AlpacaDataURL its market data API (empty: Alpaca's).
	// AlpacaExtendedHours lets limit orders go in the pre- and after-market
	// sessions (else the regular session only).
	AlpacaURL, AlpacaDataURL string
	AlpacaExtendedHours      bool

	mu     sync.Mutex
	quotas map[string]*binance.Quota // Binance's, by base URL: one per API and IP
}

// observer is the observer of venue's requests (nil: none).
func (v *Venues) observer(venue string) binance.Observer {
	if v.Observe == nil {
		return nil
	}
	return v.Observe(venue)
}

// quota is the request-weight quota of venue's API at base, shared by
// the venue clients of this process on Binance itself (Binance counts per
// IP, and bans the IP); nil — each client its own, as before — on the
// simulators.
func (v *Venues) quota(venue, base string) *binance.Quota {
	if venue != VenueBinance {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.quotas == nil {
		v.quotas = map[string]*binance.Quota{}
	}
	q := v.quotas[base]
	if q == nil {
		q = binance.NewQuota(0, 0)
		v.quotas[base] = q
	}
	return q
}

// streamURL is the market streams' base URL of the venue at base.
func (v *Venues) streamURL(venue, base string) string {
	if venue == VenueBinance {
		switch {
		case v.BinanceStreamURL != "":
			return v.BinanceStreamURL
		case v.BinanceURL == "":
			return DefaultBinanceStreamURL
		}
	}
	// A simulator serves its market streams on the same address.
	return "ws" + strings.TrimPrefix(base, "http")
}

// venueURL is the URL of a deployment's venue: baseURL, and Binance
// itself for live deployments only (paper trading is the simulator's).
func (v *Venues) venueURL(spec deploy.Spec) (string, error) {
	if spec.Venue == VenueBinance && spec.Mode != deploy.Live {
		return "", deploy.Invalid("mode", `paper trading happens on the simulator: deploy a paper deployment on "sim" (or a simulator URL), and promote it to live on binance (tradai deploy promote)`)
	}
	return v.baseURL(spec.Venue)
}

// baseURL is the URL of venue.
func (v *Venues) baseURL(venue string) (string, error) {
	switch {
	case venue == VenueSim:
		if v.SimURL == nil || v.SimURL() == "" {
			return "", deploy.Invalid("venue", `"sim": this server runs no simulator (start it with tradai serve --sim, or give the runner --sim-url)`)
		}
		return v.SimURL(), nil
	case venue == VenueHyperliquid:
		return cmp.Or(v.HyperliquidURL, hyperliquid.MainnetURL), nil
	case venue == VenueBinance:
		return cmp.Or(v.BinanceURL, DefaultBinanceURL), nil
	case strings.HasPrefix(venue, "http://") || strings.HasPrefix(venue, "https://"):
		u, err := url.Parse(venue)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return "", deploy.Invalid("venue", fmt.Sprintf("%q: want http(s)://host[:port][/path] of a Binance-compatible API", venue))
		}
		base := strings.TrimRight(venue, "/")
		if !v.AnyURL && !slices.ContainsFunc(v.URLs, func(u string) bool { return strings.TrimRight(u, "/") == base }) {
			return "", deploy.Invalid("venue", fmt.Sprintf("%q: this server trades on sim and on the venue URLs its operator allows (--venue-url)", venue))
		}
		return base, nil
	}
	return "", deploy.Invalid("venue", fmt.Sprintf("%q: want sim, binance, alpaca, hyperliquid or the URL of a Binance-compatible API", venue))
}

// Open returns the exchange of a tenant's deployment: the venue, signed
// with the key of the deployment's account.
//
// A live deployment's orders are checked against the symbol's exchange
// filters before they are sent (exbinance.Client.CheckingFilters); the
// clients of Binance share its request-weight quota (and a ban).
func (v *Venues) Open(ctx context.Context, tenant string, spec deploy.Spec) (exchange.Exchange, error) {
	if spec.Venue == VenueAlpaca {
		return v.openAlpaca(ctx, tenant, spec)
	}
	base, err := v.venueURL(spec)
	if err != nil {
		return nil, err
	}
	if spec.Venue == VenueHyperliquid {
		return v.openHyperliquid(ctx, tenant, spec, base)
	}
	var key, secret string
	if spec.Mode == deploy.Live {
		_, creds, err := v.liveAccount(ctx, tenant, spec, true)
		if err != nil {
			return nil, err
		}
		key, secret = creds.APIKey, creds.Secret
	} else {
		if v.Accounts == nil {
			return nil, errors.New("open the venue: this process has no simulator accounts")
		}
		k, err := v.Accounts.KeyOf(ctx, tenant, spec.Account)
		if errors.Is(err, simstore.ErrNotFound) {
			return nil, deploy.Invalid("account", fmt.Sprintf("%q: no simulator account of that name or id in your tenant", spec.Account))
		}
		if err != nil {
			return nil, err
		}
		key, secret = k.APIKey, k.Secret
	}
	c, err := binance.New(binance.Config{BaseURL: base, APIKey: key, Secret: secret, HTTP: v.HTTP, Clock: v.Clock, Log: v.Log, Quota: v.quota(spec.Venue, base),
		Observe: v.observer(spec.Venue), Tracer: v.Tracer})
	if err != nil {
		return nil, deploy.Invalid("venue", err.Error())
	}
	ex := exbinance.New(c)
	if spec.Mode == deploy.Live {
		ex = ex.CheckingFilters()
	}
	return ex.Streaming(v.streamURL(spec.Venue, base)), nil
}

// openHyperliquid opens a live deployment's Hyperliquid account: the
// stored account's address (its API key) traded for with its API
// wallet's private key (its secret).
func (v *Venues) openHyperliquid(ctx context.Context, tenant string, spec deploy.Spec, base string) (exchange.Exchange, error) {
	if spec.Mode != deploy.Live {
		return nil, deploy.Invalid("mode", `"paper" on hyperliquid: paper trading runs on the simulator (venue "sim")`)
	}
	_, creds, err := v.liveAccount(ctx, tenant, spec, true)
	if err != nil {
		return nil, err
	}
	c, err := hyperliquid.New(hyperliquid.Config{BaseURL: base, PrivateKey: creds.Secret, Account: creds.APIKey, HTTP: v.HTTP, Clock: v.Clock})
	if err != nil {
		return nil, deploy.Invalid("account", err.Error())
	}
	return exhyperliquid.New(c, v.Clock), nil
}

// Markets checks a new deployment's venue and mode and returns the
// venue's markets (a public call). A bad field is a deploy.FieldError.
func (v *Venues) Markets(ctx context.Context, spec deploy.Spec) ([]exchange.Market, error) {
	if spec.Venue == VenueAlpaca {
		return alpacaMarkets(spec)
	}
	base, err := v.venueURL(spec)
	if err != nil {
		return nil, err
	}
	if spec.Venue == VenueHyperliquid {
		if spec.Mode != deploy.Live {
			return nil, deploy.Invalid("mode", `"paper" on hyperliquid: paper trading runs on the simulator (venue "sim")`)
		}
		c, err := hyperliquid.New(hyperliquid.Config{BaseURL: base, HTTP: v.HTTP, Clock: v.Clock})
		if err != nil {
			return nil, deploy.Invalid("venue", err.Error())
		}
		mkts, err := exhyperliquid.New(c, v.Clock).Markets(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the markets of venue hyperliquid at %s: %w", base, err)
		}
		return mkts, nil
	}
	// Someone waits for the answer: one retry, not the runners' patience.
	c, err := binance.New(binance.Config{BaseURL: base, HTTP: v.HTTP, Clock: v.Clock, Log: v.Log, Attempts: 2, Quota: v.quota(spec.Venue, base),
		Observe: v.observer(spec.Venue), Tracer: v.Tracer})
	if err != nil {
		return nil, deploy.Invalid("venue", err.Error())
	}
	mkts, err := exbinance.New(c).Markets(ctx)
	if err != nil {
		hint := ""
		if spec.Venue == "sim" {
			hint = " (is the simulator running? start it with tradai serve --sim, or point the runners at one with --sim-url)"
		}
		return nil, fmt.Errorf("read the markets of venue %s at %s%s: %w", spec.Venue, base, hint, err)
	}
	return mkts, nil
}

// Account checks a new deployment's account: the tenant's simulator
// account of that name or id. A paper deployment naming a new name gets
// one, created in the venue's simulator and funded with wallet of asset.
func (v *Venues) Account(ctx context.Context, tenant string, spec deploy.Spec, asset string, wallet float64) error {
	if spec.Venue == VenueAlpaca {
		return v.checkAlpacaAccount(ctx, tenant, spec)
	}
	base, err := v.venueURL(spec)
	if err != nil {
		return err
	}
	if spec.Mode == deploy.Live {
		_, _, err := v.liveAccount(ctx, tenant, spec, false)
		return err
	}
	if spec.Venue == VenueHyperliquid {
		return deploy.Invalid("mode", `"paper" on hyperliquid: paper trading runs on the simulator (venue "sim")`)
	}
	if v.Accounts == nil {
		return errors.New("check the account: this process has no simulator accounts")
	}
	_, err = v.Accounts.KeyOf(ctx, tenant, spec.Account)
	switch {
	case errors.Is(err, simstore.ErrNotFound) && strings.HasPrefix(spec.Account, "sac_"):
		// An id names an existing account: of another tenant, or none.
		return deploy.Invalid("account", fmt.Sprintf("%q: no simulator account of that name or id in your tenant", spec.Account))
	case errors.Is(err, simstore.ErrNotFound):
		return v.createAccount(ctx, base, tenant, spec.Account, asset, wallet)
	}
	return err
}

// accountVenue is the venue of the stored accounts a deployment on venue
// trades with: a simulator's ("sim") for sim and simulator URLs.
func accountVenue(venue string) string {
	switch venue {
	case VenueBinance:
		return accounts.Binance
	case VenueHyperliquid:
		return accounts.Hyperliquid
	case VenueAlpaca:
		return accounts.Alpaca
	}
	return accounts.Sim
}

// liveAccount finds the stored account a live deployment names — the
// tenant's, of the deployment's venue — and with open its credentials. A
// bad one is a FieldError on "account".
func (v *Venues) liveAccount(ctx context.Context, tenant string, spec deploy.Spec, open bool) (accounts.Account, accounts.Credentials, error) {
	if v.Keys == nil {
		return accounts.Account{}, accounts.Credentials{}, deploy.Invalid("account", "this server keeps no venue accounts: live mode is not available")
	}
	var (
		a     accounts.Account
		creds accounts.Credentials
		err   error
	)
	if open {
		a, creds, err = v.Keys.Credentials(ctx, tenant, spec.Account)
	} else {
		a, err = v.Keys.Get(ctx, tenant, spec.Account)
	}
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		return a, creds, deploy.Invalid("account", fmt.Sprintf("%q: a live deployment trades with one of your stored accounts (tradai accounts add); you have none of that name or id", spec.Account))
	case err != nil:
		return a, creds, fmt.Errorf("open account %s: %w", spec.Account, err)
	case a.Venue != accountVenue(spec.Venue):
		return a, creds, deploy.Invalid("account", fmt.Sprintf("%q is an account of the venue %s; a live deployment on %s needs one of the venue %s", spec.Account, a.Venue, spec.Venue, accountVenue(spec.Venue)))
	}
	return a, creds, nil
}

// TestAccount is the test-connection of tenant's stored account ref: the
// key works, may trade and may not withdraw (Permissions.Check says
// which). Binance accounts are tested at BinanceURL, Hyperliquid
// accounts at HyperliquidURL (accounts.CheckHyperliquid), Alpaca accounts
// at their API (accounts.CheckAlpaca), sim accounts at the simulator
// "sim".
func (v *Venues) TestAccount(ctx context.Context, tenant, ref string) (accounts.Account, accounts.Permissions, error) {
	if v.Keys == nil {
		return accounts.Account{}, accounts.Permissions{}, errors.New("this server keeps no venue accounts")
	}
	a, creds, err := v.Keys.Credentials(ctx, tenant, ref)
	if err != nil {
		return a, accounts.Permissions{}, err
	}
	var base string
	switch a.Venue {
	case accounts.Binance:
		base = cmp.Or(v.BinanceURL, DefaultBinanceURL)
	case accounts.Sim:
		if base, err = v.baseURL(VenueSim); err != nil {
			return a, accounts.Permissions{}, err
		}
	case accounts.Hyperliquid:
		base = cmp.Or(v.HyperliquidURL, hyperliquid.MainnetURL)
		c, err := hyperliquid.New(hyperliquid.Config{BaseURL: base, PrivateKey: creds.Secret, Account: creds.APIKey, HTTP: v.HTTP, Clock: v.Clock})
		if err != nil {
			return a, accounts.Permissions{}, fmt.Errorf("test account %s: %w", a.Name, err)
		}
		p, err := accounts.CheckHyperliquid(ctx, c)
		if err != nil {
			return a, p, fmt.Errorf("test account %s at %s: %w", a.Name, base, err)
		}
		return a, p, nil
	case accounts.Alpaca:
		return v.testAlpaca(ctx, a, creds)
	default:
		return a, accounts.Permissions{}, fmt.Errorf("test account %s: unknown venue %q", a.Name, a.Venue)
	}
	c, err := binance.New(binance.Config{BaseURL: base, APIKey: creds.APIKey, Secret: creds.Secret, HTTP: v.HTTP, Clock: v.Clock, Log: v.Log, Attempts: 2})
	if err != nil {
		return a, accounts.Permissions{}, err
	}
	p, err := accounts.CheckBinance(ctx, c)
	if err != nil {
		return a, p, fmt.Errorf("test account %s at %s: %w", a.Name, base, err)
	}
	return a, p, nil
}

// createAccount creates tenant's account name in the simulator at base
// (its admin endpoints: the running engine learns of it) and funds it.
func (v *Venues) createAccount(ctx context.Context, base, tenant, name, asset string, amount float64) error {
	var created struct {
		Account string `json:"account"`
	}
	if err := v.admin(ctx, base, "/sim/v1/accounts", url.Values{"tenant": {tenant}, "name": {name}}, &created); err != nil {
		return fmt.Errorf("create simulator account %s: %w", name, err)
	}
	if amount > 0 && asset != "" {
		q := url.Values{"account": {created.Account}, "asset": {asset}, "amount": {strconv.FormatFloat(amount, 'f', 8, 64)}}
		if err := v.admin(ctx, base, "/sim/v1/fund", q, nil); err != nil {
			return fmt.Errorf("fund simulator account %s with %v %s: %w", name, amount, asset, err)
		}
	}
	if v.Log != nil {
		v.Log.Info("simulator account created for a paper deployment", "tenant", tenant, "account", name, "asset", asset, "amount", amount)
	}
	return nil
}

// admin POSTs to one of the simulator's admin endpoints.
func (v *Venues) admin(ctx context.Context, base, path string, q url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	if v.SimAdminToken != "" {
		req.Header.Set("Authorization", "Bearer "+v.SimAdminToken)
	}
	hc := v.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: binance.DefaultHTTPTimeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

// deploymentJob is the runner tier's runner.Job: it reads the deployment,
// opens its strategy version (a registry version always in the process
// sandbox or wasm, as a backtest's), parses its config, opens its venue
// and runs a runner.Runner until ctx ends. What can never work (a config
// the store accepted but the strategy refuses, a version gone, live mode)
// fails the deployment rather than being restarted.
type deploymentJob struct {
	store      *deploy.Store
	venues     *Venues
	strategies strategyref.Options
	registry   func(tenant string) strategyref.Resolver
	// external lets registry versions run without the process sandbox
	// (--allow-external-strategies).
	external bool
	metrics  *telemetry.Metrics
	tracer   trace.Tracer
	clock    clock.Clock
	log      *slog.Logger
	// alerts, when set, gets the runners' risk alerts (runner.Config.Alert).
	alerts *alertHook

	mu       sync.Mutex
	breakers map[string]*risk.Breaker // by venue: shared by this process's runners on it
}

// alert is the runners' risk alert (runner.Config.Alert): logged and
// POSTed to the alert webhook.
func (j *deploymentJob) alert(ctx context.Context, a runner.Alert) {
	if j.alerts != nil {
		j.alerts.risk(ctx, a)
	}
}

// breaker is the circuit breaker of venue in this process.
func (j *deploymentJob) breaker(venue string) *risk.Breaker {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.breakers == nil {
		j.breakers = map[string]*risk.Breaker{}
	}
	b := j.breakers[venue]
	if b == nil {
		b = risk.NewBreaker(0, 0, j.clock)
		j.breakers[venue] = b
	}
	return b
}

// open parses deployment d's config and opens its strategy (a registry
// version in the process sandbox, or wasm); what can never work is an
// errPermanent.
func (j *deploymentJob) open(ctx context.Context, d deploy.Deployment) (*config.Config, sdk.Strategy, func() error, error) {
	raw := d.Spec.Config
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	cfg, err := config.Parse(raw, "of deployment "+d.ID)
	if err != nil {
		return nil, nil, nil, errPermanent{err}
	}
	sopts := j.strategies
	// A deployment's strategy process runs below the runner's priority: one
	// that spins delays the ticks of the others on the host less.
	sopts.External.Nice = deploymentNice
	ref := d.Spec.Strategy
	if d.Spec.Version > 0 {
		ref = fmt.Sprintf("%s@%d", d.Spec.Strategy, d.Spec.Version)
		if sopts.External.Sandbox == nil && !j.external {
			return nil, nil, nil, errPermanent{fmt.Errorf("strategy %s: this process has no process sandbox to run tenant code in", ref)}
		}
		if j.registry == nil {
			return nil, nil, nil, errPermanent{fmt.Errorf("strategy %s: this process has no strategy registry", ref)}
		}
		sopts.Registry = j.registry(d.Tenant)
	}
	st, closeStrategy, err := strategyref.Open(ctx, ref, sopts)
	if err != nil {
		if d.Spec.Version == 0 || errors.Is(err, registry.ErrNotFound) {
			return nil, nil, nil, errPermanent{err} // no such built-in, or the version is gone
		}
		return nil, nil, nil, err // a process or the registry failing now: restarted
	}
	return cfg, st, closeStrategy, nil
}

// deploymentNice is how many steps below the runner's CPU priority a
// deployment's strategy process runs (external.Options.Nice); backtests'
// run at the priority of the worker that runs them.
const deploymentNice = 10

// errPermanent marks a failure that restarting cannot mend.
type errPermanent struct{ err error }

func (e errPermanent) Error() string { return e.err.Error() }
func (e errPermanent) Unwrap() error { return e.err }

func (j *deploymentJob) run(ctx context.Context, l deploy.Lease) error {
	err := j.trade(ctx, l)
	var perm errPermanent
	if errors.As(err, &perm) || errors.Is(err, deploy.ErrInvalid) {
		_ = j.store.Log(ctx, l, slog.LevelError, "deployment failed", map[string]string{"err": err.Error()})
		if ferr := j.store.Fail(ctx, l, err.Error()); ferr != nil {
			return ferr
		}
		return nil
	}
	if err != nil && ctx.Err() == nil && !errors.Is(err, deploy.ErrFenced) {
		_ = j.store.Log(ctx, l, slog.LevelWarn, "runner stopped, restarting", map[string]string{"err": err.Error()})
	}
	return err
}

func (j *deploymentJob) trade(ctx context.Context, l deploy.Lease) error {
	d, err := j.store.Deployment(ctx, l)
	if err != nil {
		return err
	}
	if d.State.Terminal() {
		return fmt.Errorf("deployment %s is %s: %w", d.ID, d.State, deploy.ErrFenced)
	}
	cfg, st, closeStrategy, err := j.open(ctx, d)
	if err != nil {
		return err
	}
	defer closeStrategy()
	spec := st.Spec()
	params, err := spec.Resolve(cfg.StrategyParams)
	if err != nil {
		return errPermanent{fmt.Errorf("strategy_params: %w", err)}
	}
	rules, acct, err := cfg.Trading(spec)
	if err != nil {
		return errPermanent{err}
	}
	limits, err := j.store.Limits(ctx, d.Tenant, d.Spec)
	if err != nil {
		return err // bad limits are an ErrInvalid: the deployment fails
	}
	ex, err := j.venues.Open(ctx, l.Tenant, d.Spec)
	if err != nil {
		return err
	}
	r, err := runner.New(runner.Config{Store: j.store, Lease: l, Pairs: d.Spec.Pairs, Timeframe: d.Spec.Timeframe, Exchange: ex,
		Strategy: st, Params: params, Rules: rules, Account: acct, Orders: cfg.Orders(), Limits: &limits, Breaker: j.breaker(d.Spec.Venue),
		Alert: j.alert, Clock: j.clock, Log: j.log, Observe: j.metrics, Tracer: j.tracer})
	if err != nil {
		return errPermanent{err}
	}
	defer j.metrics.Forget(d.ID)
	return r.Run(ctx)
}
