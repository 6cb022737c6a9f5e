package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/drift"
	"github.com/tradai/tradai/internal/exchange"
	"github.com/tradai/tradai/internal/metrics"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/report"
	"github.com/tradai/tradai/internal/result"
	"github.com/tradai/tradai/internal/risk"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/tenancy"
	"github.com/tradai/tradai/internal/trade"
	"github.com/tradai/tradai/sdk"
)

const deploymentsPath = "/api/v1/deployments"

// DeployVenues checks a new deployment's venue, mode and account (the
// platform's Venues): a bad field is a deploy.FieldError. Markets lists
// the venue's markets; Account finds the tenant's account, or gives a
// paper deployment naming a new one that account, funded with wallet of
// asset.
type DeployVenues interface {
	Markets(ctx context.Context, spec deploy.Spec) ([]exchange.Market, error)
	Account(ctx context.Context, tenant string, spec deploy.Spec, asset string, wallet float64) error
}

// DriftMonitor computes a deployment's drift from its reference backtest
// (the platform's): the report and when it was computed.
type DriftMonitor interface {
	Drift(ctx context.Context, d deploy.Deployment) (drift.Report, time.Time, error)
}

// DeploymentsConfig is what the deployment operations need.
type DeploymentsConfig struct {
	Store  *deploy.Store
	Venues DeployVenues
	// Registry resolves registry versions (nil: built-in strategies only).
	Registry *registry.Registry
	Clock    clock.Clock
	Log      *slog.Logger
	// StaleAfter is how long a deployment that should run may go without
	// a heartbeat before it is reported stale (30 s: three heartbeats).
	StaleAfter time.Duration
	// Operators are the users (ids, or names with Users set) who may stop
	// every tenant's deployments at once (the kill switch with platform:
	// true).
	Operators []string
	// Users finds the operators named by name (nil: ids only).
	Users *tenancy.Store
	// Promote is the minimum a paper deployment must have run before it is
	// promoted to live (zero fields: deploy's defaults, a week and 10
	// closed trades).
	Promote deploy.PromoteRules
	// Drift computes a deployment's drift for Get (nil: no drift field).
	Drift DriftMonitor
}

// Deployments are the deployment operations as the API and the CLI's
// local mode call them, tenant-scoped: another tenant's deployment is not
// found. Errors are *apitype.Problem.
type Deployments struct {
	cfg DeploymentsConfig
	clk clock.Clock
}

// NewDeployments returns the deployment operations over cfg.
func NewDeployments(cfg DeploymentsConfig) (*Deployments, error) {
	if cfg.Store == nil || cfg.Venues == nil {
		return nil, errors.New("deployments: a store and the venues are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 30 * time.Second
	}
	return &Deployments{cfg: cfg, clk: clock.Or(cfg.Clock)}, nil
}

func (d *Deployments) internal(what string, err error) error {
	d.cfg.Log.Error(what, "err", err)
	return problem(http.StatusInternalServerError, apitype.CodeInternal, what+" failed; the server logged why")
}

// storeErr is the answer to a deployment store error.
func (d *Deployments) storeErr(what, id string, err error) error {
	var fe *deploy.FieldError
	switch {
	case errors.Is(err, deploy.ErrNotFound):
		return problem(http.StatusNotFound, apitype.CodeNotFound, "no deployment "+id)
	case errors.As(err, &fe):
		return invalid("body."+fe.Field, fe.Why, nil)
	case errors.Is(err, deploy.ErrIllegalTransition):
		msg := err.Error()
		if _, after, ok := strings.Cut(msg, deploy.ErrIllegalTransition.Error()+": "); ok {
			msg = after
		}
		return problem(http.StatusConflict, apitype.CodeConflict, fmt.Sprintf("cannot %s %s: %s", what, id, msg))
	}
	return d.internal(what+" deployment", err)
}

// Create checks req and stores the deployment (state starting: the next
// runner with room takes it). Nothing is stored when a field is bad.
func (d *Deployments) Create(ctx context.Context, p tenancy.Principal, req apitype.DeploymentRequest) (apitype.Deployment, error) {
	for loc, text := range map[string]string{"body.strategy": req.Strategy, "body.venue": req.Venue, "body.account": req.Account, "body.timeframe": req.Timeframe} {
		if pr := checkText(loc, text); pr != nil {
			return apitype.Deployment{}, pr
		}
	}
	for i, pair := range req.Pairs {
		if pr := checkText(fmt.Sprintf("body.pairs[%d]", i), pair); pr != nil {
			return apitype.Deployment{}, pr
		}
	}
	tf, err := sdk.ParseTimeframe(req.Timeframe)
	if err != nil {
		return apitype.Deployment{}, invalid("body.timeframe", err.Error(), req.Timeframe)
	}
	spec := deploy.Spec{Mode: deploy.Mode(req.Mode), Venue: req.Venue, Account: req.Account, Pairs: req.Pairs, Timeframe: tf}
	// The strategy: a built-in, or a registry version of the tenant.
	ref := strings.TrimSpace(req.Strategy)
	var declared sdk.Spec
	if st, err := strategy.Lookup(ref); err == nil && !strings.Contains(ref, "@") {
		declared, spec.Strategy = st.Spec(), ref
	} else {
		if strategyref.IsFile(ref) {
			return apitype.Deployment{}, invalid("body.strategy", "a deployment trades a built-in strategy or a registry version (push it: tradai strategy push), not a file", ref)
		}
		if d.cfg.Registry == nil {
			return apitype.Deployment{}, invalid("body.strategy", fmt.Sprintf("unknown strategy %q; built-in: %s", ref, strings.Join(strategy.Names(), ", ")), ref)
		}
		v, err := d.cfg.Registry.Resolve(ctx, p.Tenant, ref)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			return apitype.Deployment{}, problem(http.StatusNotFound, apitype.CodeNotFound, "body.strategy: "+err.Error(),
				&apitype.ErrorDetail{Location: "body.strategy", Message: "no such strategy version", Value: ref})
		case errors.Is(err, registry.ErrInvalid):
			return apitype.Deployment{}, invalid("body.strategy", err.Error(), ref)
		case err != nil:
			return apitype.Deployment{}, d.internal("resolve the strategy", err)
		}
		declared, spec.Strategy, spec.Version, spec.CodeSHA256 = v.Spec, v.Name, v.Number, v.SHA256
	}
	// The config: Freqtrade's keys, validated as a runner reads them.
	cfgMap := req.Config
	if cfgMap == nil {
		cfgMap = map[string]any{}
	}
	raw, err := json.Marshal(cfgMap)
	if err != nil {
		return apitype.Deployment{}, invalid("body.config", err.Error(), nil)
	}
	cfg, err := config.Parse(raw, "body.config")
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return apitype.Deployment{}, invalid("body.config", err.Error(), nil)
	}
	if _, _, err := cfg.Trading(declared); err != nil {
		return apitype.Deployment{}, invalid("body.config", err.Error(), nil)
	}
	if _, err := declared.Resolve(cfg.StrategyParams); err != nil {
		return apitype.Deployment{}, invalid("body.config.strategy_params", err.Error(), nil)
	}
	if _, err := risk.Parse(raw); err != nil {
		var fe *risk.FieldError
		if errors.As(err, &fe) {
			return apitype.Deployment{}, invalid("body.config."+fe.Field, fe.Why, nil)
		}
		return apitype.Deployment{}, invalid("body.config."+risk.Key, err.Error(), nil)
	}
	if cfg.TradingMode != "spot" {
		return apitype.Deployment{}, invalid("body.config.trading_mode", "deployments trade spot markets (futures venues come later)", cfg.TradingMode)
	}
	// The timeframe: the strategy's, or the one the config names instead
	// (the config's wins, as in Freqtrade).
	if want := cfg.TimeframeFor(declared); want != "" && want != tf {
		why := fmt.Sprintf("strategy %s trades on %s", spec.Strategy, want)
		if cfg.Timeframe == "" {
			why += fmt.Sprintf(`; to trade it on %s, say so in the config too ("timeframe": %q)`, tf, tf)
		} else {
			why = fmt.Sprintf("the config's timeframe is %s", cfg.Timeframe)
		}
		return apitype.Deployment{}, invalid("body.timeframe", why, req.Timeframe)
	}
	spec.Config = raw
	if err := spec.Validate(); err != nil {
		return apitype.Deployment{}, d.storeErr("create", "", err)
	}
	// The venue, the account and the pairs it lists.
	asset := cfg.StakeCurrency
	if asset == "" {
		_, asset, _ = strings.Cut(req.Pairs[0], "/")
	}
	mkts, err := d.cfg.Venues.Markets(ctx, spec)
	if err != nil {
		return apitype.Deployment{}, d.venueErr(req, err)
	}
	for i, pair := range req.Pairs {
		if !slices.ContainsFunc(mkts, func(m exchange.Market) bool { return m.Base+"/"+m.Quote == pair }) {
			return apitype.Deployment{}, invalid(fmt.Sprintf("body.pairs[%d]", i), fmt.Sprintf("venue %s does not list %s", req.Venue, pair), pair)
		}
	}
	if err := d.cfg.Venues.Account(ctx, p.Tenant, spec, asset, cfg.DryRunWallet); err != nil {
		return apitype.Deployment{}, d.venueErr(req, err)
	}
	dep, err := d.cfg.Store.Create(ctx, p, spec)
	if err != nil {
		return apitype.Deployment{}, d.storeErr("create", "", err)
	}
	return d.view(dep), nil
}

// venueErr is the answer to a failure of the venue's checks.
func (d *Deployments) venueErr(req apitype.DeploymentRequest, err error) error {
	var fe *deploy.FieldError
	switch {
	case errors.As(err, &fe) && fe.Field == "account":
		return problem(http.StatusNotFound, apitype.CodeNotFound, "body.account: "+fe.Why,
			&apitype.ErrorDetail{Location: "body.account", Message: fe.Why, Value: req.Account})
	case errors.Is(err, deploy.ErrInvalid):
		return d.storeErr("create", "", err)
	}
	d.cfg.Log.Warn("deployment venue unreachable", "venue", req.Venue, "err", err)
	return problem(http.StatusBadGateway, apitype.CodeInvalidRequest, "body.venue: "+err.Error(),
		&apitype.ErrorDetail{Location: "body.venue", Message: "the venue did not answer as expected", Value: req.Venue})
}

// view is a deployment as the API shows it.
func (d *Deployments) view(dep deploy.Deployment) apitype.Deployment {
	out := apitype.Deployment{ID: dep.ID, Strategy: dep.Spec.Strategy, StrategyVersion: dep.Spec.Version, CodeSHA256: dep.Spec.CodeSHA256,
		Mode: string(dep.Spec.Mode), Venue: dep.Spec.Venue, Account: dep.Spec.Account, Pairs: dep.Spec.Pairs, Timeframe: string(dep.Spec.Timeframe),
		State: string(dep.State), Error: dep.Error, CreatedAt: dep.Created.UTC(), UpdatedAt: dep.Updated.UTC(), Runner: dep.Runner, Flatten: dep.Flatten}
	if out.Pairs == nil {
		out.Pairs = []string{}
	}
	out.StopAsked = dep.StopAsked
	if rs := dep.Risk; rs != (deploy.RiskState{}) {
		out.Risk = &apitype.DeploymentRisk{Breaker: rs.Breaker, BreakerSince: optTime(rs.BreakerSince), Halted: rs.Halted, HaltedAt: optTime(rs.HaltedAt)}
	}
	now := d.clk.Now()
	out.LastTick = optTime(dep.LastTick)
	if out.Heartbeat = optTime(dep.Heartbeat); out.Heartbeat != nil {
		out.HeartbeatAge = max(0, now.Sub(dep.Heartbeat).Seconds())
	}
	if !dep.State.Terminal() {
		// As deploy.Store.Stale: no heartbeat for StaleAfter, or no
		// runner took it within StaleAfter of its creation.
		last := dep.Heartbeat
		if last.IsZero() {
			last = dep.Created
		}
		out.Stale = now.Sub(last) > d.cfg.StaleAfter
	}
	return out
}

// drift is dep's drift now (nil: none computed; a failure is logged).
func (d *Deployments) drift(ctx context.Context, dep deploy.Deployment) *apitype.DeploymentDrift {
	if d.cfg.Drift == nil {
		return nil
	}
	r, at, err := d.cfg.Drift.Drift(ctx, dep)
	if err != nil {
		d.cfg.Log.Warn("deployment drift not computed", "deployment_id", dep.ID, "err", err)
		return nil
	}
	out := &apitype.DeploymentDrift{Score: r.Score, Verdict: r.Verdict, Enough: r.Enough, Drifted: r.Drifted, ComputedAt: at.UTC(),
		Features: make([]apitype.DeploymentDriftFeature, len(r.Features))}
	for i, f := range r.Features {
		out.Features[i] = apitype.DeploymentDriftFeature{Name: f.Name, Live: f.Live, Reference: f.Reference, PSI: f.PSI, KS: f.KS, KSP: f.KSP,
			Score: f.Score, Drifted: f.Drifted}
	}
	return out
}

// List is the tenant's deployments, newest first.
func (d *Deployments) List(ctx context.Context, p tenancy.Principal) (apitype.DeploymentList, error) {
	deps, err := d.cfg.Store.List(ctx, p)
	if err != nil {
		return apitype.DeploymentList{}, d.internal("list deployments", err)
	}
	out := apitype.DeploymentList{Deployments: make([]apitype.Deployment, 0, len(deps))}
	for _, dep := range deps {
		out.Deployments = append(out.Deployments, d.view(dep))
	}
	return out, nil
}

// Get is one deployment with its summary.
func (d *Deployments) Get(ctx context.Context, p tenancy.Principal, id string) (apitype.Deployment, error) {
	dep, err := d.cfg.Store.Get(ctx, p, id)
	if err != nil {
		return apitype.Deployment{}, d.storeErr("show", id, err)
	}
	trades, err := d.cfg.Store.Trades(ctx, p.Tenant, id)
	if err != nil {
		return apitype.Deployment{}, d.internal("read the deployment's trades", err)
	}
	orders, err := d.cfg.Store.Orders(ctx, p.Tenant, id)
	if err != nil {
		return apitype.Deployment{}, d.internal("read the deployment's orders", err)
	}
	equity, err := d.cfg.Store.Equity(ctx, p.Tenant, id)
	if err != nil {
		return apitype.Deployment{}, d.internal("read the deployment's equity", err)
	}
	out := d.view(dep)
	out.Drift = d.drift(ctx, dep)
	s := &apitype.DeploymentSummary{StartingBalance: startingBalance(dep)}
	for _, t := range trades {
		if t.Open {
			s.OpenTrades++
			continue
		}
		s.ClosedTrades++
		s.RealisedProfit += t.Record.ProfitAbs
	}
	s.Equity = s.StartingBalance + s.RealisedProfit
	if n := len(equity); n > 0 {
		s.Equity = equity[n-1].Equity
		at := equity[n-1].Time.UTC()
		s.EquityAt = &at
	}
	s.UnrealisedProfit = s.Equity - s.StartingBalance - s.RealisedProfit
	if s.OpenTrades == 0 {
		s.UnrealisedProfit = 0
	}
	day := d.clk.Now().UTC().Truncate(24 * time.Hour)
	for _, o := range orders {
		if !o.Created.Before(day) {
			s.OrdersToday++
		}
	}
	if s.Account, err = d.accountUsage(ctx, p.Tenant, dep.Spec.Venue, dep.Spec.Account); err != nil {
		return apitype.Deployment{}, err
	}
	s.CPUSeconds = dep.Cost.CPU.Seconds()
	s.PeakMemoryBytes, s.VenueWeight, s.VenueWeight1m = dep.Cost.PeakMemory, dep.Cost.VenueWeight, dep.Cost.VenueWeight1m
	out.Summary = s
	return out, nil
}

// startingBalance is the deployment's dry_run_wallet.
func startingBalance(dep deploy.Deployment) float64 {
	c, err := config.Parse(orEmpty(dep.Spec.Config), "of deployment "+dep.ID)
	if err != nil {
		return config.Default().DryRunWallet
	}
	return c.DryRunWallet
}

func orEmpty(raw json.RawMessage) []byte {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("{}")
	}
	return raw
}

// Stop stops a deployment for good; with flatten the runner holding it
// first closes its open trades at the market (at its next tick), then
// stops it.
func (d *Deployments) Stop(ctx context.Context, p tenancy.Principal, id string, flatten bool) (apitype.Deployment, error) {
	stop := d.cfg.Store.Stop
	if flatten {
		stop = d.cfg.Store.StopFlatten
	}
	dep, err := stop(ctx, p, id)
	if err != nil {
		return apitype.Deployment{}, d.storeErr("stop", id, err)
	}
	return d.view(dep), nil
}

// StopAll is the kill switch: every deployment of the principal's tenant
// that still trades (of every tenant with req.Platform, for an operator)
// is asked to cancel its open orders, flatten if asked, and stop; those no
// runner holds stop at once. Audited with who.
func (d *Deployments) StopAll(ctx context.Context, p tenancy.Principal, req apitype.StopAllRequest) (apitype.StopAllResult, error) {
	if req.Platform && !d.operator(ctx, p) {
		return apitype.StopAllResult{}, problem(http.StatusForbidden, apitype.CodeForbidden,
			"body.platform: stopping every tenant's deployments is for the server's operators; without platform your tenant's stop")
	}
	sr := deploy.StopAllRequest{Platform: req.Platform, Flatten: req.Flatten}
	for i, m := range req.Modes {
		if m != string(deploy.Paper) && m != string(deploy.Live) {
			return apitype.StopAllResult{}, invalid(fmt.Sprintf("body.modes[%d]", i), "must be paper or live", m)
		}
		sr.Modes = append(sr.Modes, deploy.Mode(m))
	}
	res, err := d.cfg.Store.StopAll(ctx, p, sr)
	if err != nil {
		return apitype.StopAllResult{}, d.internal("stop all deployments", err)
	}
	out := apitype.StopAllResult{Asked: res.Asked, Stopped: res.Stopped}
	if out.Asked == nil {
		out.Asked = []string{}
	}
	if out.Stopped == nil {
		out.Stopped = []string{}
	}
	d.cfg.Log.Warn("kill switch: deployments stopped", "tenant", p.Tenant, "user", p.User, "platform", req.Platform, "flatten", req.Flatten,
		"asked", len(out.Asked), "stopped", len(out.Stopped))
	return out, nil
}

// operator reports whether p's user is one of the server's operators.
func (d *Deployments) operator(ctx context.Context, p tenancy.Principal) bool {
	return isOperator(ctx, d.cfg.Users, d.cfg.Operators, d.cfg.Log, p)
}

// isOperator reports whether p's user is one of operators: user ids, or
// names looked up through users (nil: ids only).
func isOperator(ctx context.Context, users *tenancy.Store, operators []string, log *slog.Logger, p tenancy.Principal) bool {
	if p.User == "" {
		return false
	}
	for _, o := range operators {
		if o == p.User {
			return true
		}
		if users == nil {
			continue
		}
		u, err := users.UserByName(ctx, o)
		switch {
		case err == nil && u.ID == p.User:
			return true
		case err != nil && !errors.Is(err, tenancy.ErrNotFound):
			log.Error("look up an operator", "operator", o, "err", err)
		}
	}
	return false
}

// SetAccountLimits records the risk limits of one of the tenant's venue
// accounts (checked as a config's risk_limits: 422 naming the key).
func (d *Deployments) SetAccountLimits(ctx context.Context, p tenancy.Principal, req apitype.AccountLimits) (apitype.AccountLimits, error) {
	for loc, text := range map[string]string{"body.venue": req.Venue, "body.account": req.Account} {
		if pr := checkText(loc, text); pr != nil {
			return apitype.AccountLimits{}, pr
		}
	}
	if req.RiskLimits == nil {
		req.RiskLimits = map[string]any{}
	}
	raw, err := json.Marshal(req.RiskLimits)
	if err != nil {
		return apitype.AccountLimits{}, invalid("body.risk_limits", err.Error(), nil)
	}
	if _, err := risk.Parse([]byte(`{"` + risk.Key + `": ` + string(raw) + `}`)); err != nil {
		var fe *risk.FieldError
		if errors.As(err, &fe) {
			return apitype.AccountLimits{}, invalid("body."+fe.Field, fe.Why, nil)
		}
		return apitype.AccountLimits{}, invalid("body."+risk.Key, err.Error(), nil)
	}
	if err := d.cfg.Store.SetAccountLimits(ctx, p, req.Venue, req.Account, raw); err != nil {
		return apitype.AccountLimits{}, d.storeErr("set the risk limits of", req.Account, err)
	}
	req.Usage, err = d.accountUsage(ctx, p.Tenant, req.Venue, req.Account)
	if err != nil {
		return apitype.AccountLimits{}, err
	}
	return req, nil
}

// accountUsage is what every deployment on the tenant's account on venue
// uses of the account's limits today.
func (d *Deployments) accountUsage(ctx context.Context, tenant, venue, account string) (*apitype.AccountUsage, error) {
	now := d.clk.Now()
	u, err := d.cfg.Store.AccountUsage(ctx, tenant, venue, account, deploy.Day(now))
	if err != nil {
		return nil, d.internal("read the usage of an account's risk limits", err)
	}
	out := &apitype.AccountUsage{Day: now.UTC().Format(time.DateOnly), Deployments: u.Deployments, Positions: u.Positions, Exposure: u.Exposure,
		OpenOrders: u.OpenOrders, OrdersToday: u.Orders, OrdersLastMinute: u.OrdersLastMinute, Equity: u.Equity, DayStart: u.DayStart, DayHigh: u.DayHigh, High: u.High}
	if u.DayStart > 0 {
		out.DailyLoss = 1 - u.Equity/u.DayStart
	}
	return out, nil
}

// AccountLimits are the risk limits recorded for one of the tenant's
// venue accounts (none: an empty object).
func (d *Deployments) AccountLimits(ctx context.Context, p tenancy.Principal, venue, account string) (apitype.AccountLimits, error) {
	raw, err := d.cfg.Store.AccountLimits(ctx, p.Tenant, venue, account)
	if err != nil {
		return apitype.AccountLimits{}, d.internal("read the risk limits of an account", err)
	}
	out := apitype.AccountLimits{Venue: venue, Account: account, RiskLimits: map[string]any{}}
	if raw != nil {
		if err := json.Unmarshal(raw, &out.RiskLimits); err != nil {
			return apitype.AccountLimits{}, d.internal("read the risk limits of an account", err)
		}
	}
	if out.Usage, err = d.accountUsage(ctx, p.Tenant, venue, account); err != nil {
		return apitype.AccountLimits{}, err
	}
	return out, nil
}

// Pause keeps a deployment from opening trades (its open ones are still
// managed).
func (d *Deployments) Pause(ctx context.Context, p tenancy.Principal, id string) (apitype.Deployment, error) {
	dep, err := d.cfg.Store.Pause(ctx, p, id)
	if err != nil {
		return apitype.Deployment{}, d.storeErr("pause", id, err)
	}
	return d.view(dep), nil
}

// Resume lets a paused deployment open trades again.
func (d *Deployments) Resume(ctx context.Context, p tenancy.Principal, id string) (apitype.Deployment, error) {
	dep, err := d.cfg.Store.Resume(ctx, p, id)
	if err != nil {
		return apitype.Deployment{}, d.storeErr("resume", id, err)
	}
	return d.view(dep), nil
}

// exists answers 404 for a deployment the tenant does not have.
func (d *Deployments) exists(ctx context.Context, p tenancy.Principal, id string) (deploy.Deployment, error) {
	dep, err := d.cfg.Store.Get(ctx, p, id)
	if err != nil {
		return deploy.Deployment{}, d.storeErr("read", id, err)
	}
	return dep, nil
}

// Logs returns up to limit lines after line after; with wait, when there
// are none yet, it waits up to wait for the first (long poll: logs -f).
func (d *Deployments) Logs(ctx context.Context, p tenancy.Principal, id string, after int64, limit int, wait time.Duration) (apitype.LogPage, error) {
	if _, err := d.exists(ctx, p, id); err != nil {
		return apitype.LogPage{}, err
	}
	deadline := d.clk.Now().Add(wait)
	for {
		lines, err := d.cfg.Store.Logs(ctx, p.Tenant, id, after, limit)
		if err != nil {
			return apitype.LogPage{}, d.internal("read the deployment's log", err)
		}
		if len(lines) > 0 || !d.clk.Now().Before(deadline) {
			out := apitype.LogPage{Lines: make([]apitype.LogLine, 0, len(lines)), Next: after}
			for _, l := range lines {
				out.Lines = append(out.Lines, apitype.LogLine{Seq: l.Seq, Time: l.Time.UTC(), Level: l.Level.String(), Msg: l.Msg, Attrs: l.Attrs})
				out.Next = l.Seq
			}
			return out, nil
		}
		if err := d.clk.Sleep(ctx, min(250*time.Millisecond, deadline.Sub(d.clk.Now()))); err != nil {
			return apitype.LogPage{Lines: []apitype.LogLine{}, Next: after}, nil
		}
	}
}

func unixTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Trades lists the deployment's trades in the order they opened.
func (d *Deployments) Trades(ctx context.Context, p tenancy.Principal, id string) (apitype.DeploymentTradeList, error) {
	if _, err := d.exists(ctx, p, id); err != nil {
		return apitype.DeploymentTradeList{}, err
	}
	ts, err := d.cfg.Store.Trades(ctx, p.Tenant, id)
	if err != nil {
		return apitype.DeploymentTradeList{}, d.internal("read the deployment's trades", err)
	}
	out := apitype.DeploymentTradeList{Trades: make([]apitype.DeploymentTrade, 0, len(ts))}
	for _, t := range ts {
		r := t.Record
		v := apitype.DeploymentTrade{Seq: t.Seq, Open: t.Open, Pair: r.Pair, EnterTag: r.EnterTag, OpenTime: unixTime(r.OpenTime), OpenRate: r.OpenRate,
			Amount: r.Amount, Stake: r.Stake, VenueQty: t.VenueQty.String()}
		if !t.Open {
			ct := unixTime(r.CloseTime)
			v.CloseTime, v.CloseRate, v.ExitReason, v.ProfitRatio, v.ProfitAbs = &ct, r.CloseRate, string(r.ExitReason), r.ProfitRatio, r.ProfitAbs
		}
		out.Trades = append(out.Trades, v)
	}
	return out, nil
}

// Orders lists the deployment's orders, oldest first.
func (d *Deployments) Orders(ctx context.Context, p tenancy.Principal, id string) (apitype.DeploymentOrderList, error) {
	if _, err := d.exists(ctx, p, id); err != nil {
		return apitype.DeploymentOrderList{}, err
	}
	os, err := d.cfg.Store.Orders(ctx, p.Tenant, id)
	if err != nil {
		return apitype.DeploymentOrderList{}, d.internal("read the deployment's orders", err)
	}
	out := apitype.DeploymentOrderList{Orders: make([]apitype.DeploymentOrder, 0, len(os))}
	for _, o := range os {
		leg := "entry"
		if o.Leg == deploy.Exit {
			leg = "exit"
		}
		v := apitype.DeploymentOrder{ClientOrderID: o.ClientOrderID, TradeSeq: o.TradeSeq, Leg: leg, Attempt: o.Attempt, Pair: o.Pair, Side: string(o.Side),
			Type: string(o.Type), Reason: o.Reason, Status: string(o.Status), Executed: o.Executed.String(), QuoteExecuted: o.QuoteExecuted.String(),
			VenueID: o.VenueID, CreatedAt: o.Created.UTC(), UpdatedAt: o.Updated.UTC()}
		if o.Price != 0 {
			v.Price = o.Price.String()
		}
		if o.Quantity != 0 {
			v.Quantity = o.Quantity.String()
		}
		if o.QuoteQuantity != 0 {
			v.QuoteQuantity = o.QuoteQuantity.String()
		}
		out.Orders = append(out.Orders, v)
	}
	return out, nil
}

// Positions are the deployment's open trades, one per pair.
func (d *Deployments) Positions(ctx context.Context, p tenancy.Principal, id string) (apitype.PositionList, error) {
	if _, err := d.exists(ctx, p, id); err != nil {
		return apitype.PositionList{}, err
	}
	ts, err := d.cfg.Store.Trades(ctx, p.Tenant, id)
	if err != nil {
		return apitype.PositionList{}, d.internal("read the deployment's trades", err)
	}
	out := apitype.PositionList{Positions: []apitype.Position{}}
	for _, t := range ts {
		if !t.Open {
			continue
		}
		r := t.Record
		out.Positions = append(out.Positions, apitype.Position{Pair: r.Pair, TradeSeq: t.Seq, Quantity: t.VenueQty.String(), OpenRate: r.OpenRate,
			Stake: r.Stake, OpenTime: unixTime(r.OpenTime), StopLoss: r.StopLoss, EnterTag: r.EnterTag})
	}
	return out, nil
}

// Equity is the deployment's equity curve.
func (d *Deployments) Equity(ctx context.Context, p tenancy.Principal, id string) (apitype.EquityCurve, error) {
	if _, err := d.exists(ctx, p, id); err != nil {
		return apitype.EquityCurve{}, err
	}
	es, err := d.cfg.Store.Equity(ctx, p.Tenant, id)
	if err != nil {
		return apitype.EquityCurve{}, d.internal("read the deployment's equity", err)
	}
	out := apitype.EquityCurve{Points: make([]apitype.EquityPoint, 0, len(es))}
	for _, e := range es {
		out.Points = append(out.Points, apitype.EquityPoint{Time: e.Time.UTC(), Equity: e.Equity})
	}
	return out, nil
}

// Report renders the HTML report of the deployment's closed trades, the
// one a backtest gets.
func (d *Deployments) Report(ctx context.Context, p tenancy.Principal, id string) ([]byte, error) {
	dep, err := d.exists(ctx, p, id)
	if err != nil {
		return nil, err
	}
	ts, err := d.cfg.Store.Trades(ctx, p.Tenant, id)
	if err != nil {
		return nil, d.internal("read the deployment's trades", err)
	}
	es, err := d.cfg.Store.Equity(ctx, p.Tenant, id)
	if err != nil {
		return nil, d.internal("read the deployment's equity", err)
	}
	res := DeploymentResult(dep, ts, es)
	var buf bytes.Buffer
	if err := report.NewFiles(res, func() metrics.Report { return metrics.Compute(res) }, nil).WriteHTML(&buf); err != nil {
		return nil, d.internal("render the deployment's report", err)
	}
	return buf.Bytes(), nil
}

// DeploymentResult is a deployment's closed trades as a result.Result, in
// the order they closed, with its equity points as the curve: what the
// metrics and reports of a backtest read.
func DeploymentResult(dep deploy.Deployment, trades []deploy.Trade, equity []deploy.EquityPoint) *result.Result {
	c, err := config.Parse(orEmpty(dep.Spec.Config), "of deployment "+dep.ID)
	if err != nil {
		c = config.Default()
	}
	stake := c.StakeCurrency
	if stake == "" && len(dep.Spec.Pairs) > 0 {
		_, stake, _ = strings.Cut(dep.Spec.Pairs[0], "/")
	}
	name := dep.Spec.Strategy
	if dep.Spec.Version > 0 {
		name = fmt.Sprintf("%s@%d", dep.Spec.Strategy, dep.Spec.Version)
	}
	res := &result.Result{Strategy: name, Timeframe: dep.Spec.Timeframe, Pairs: dep.Spec.Pairs, Exchange: dep.Spec.Venue, StakeCurrency: stake,
		TradingMode: "spot", StartingBalance: c.DryRunWallet, MaxOpenTrades: c.MaxOpenTrades, FinalBalance: c.DryRunWallet}
	closed := make([]trade.Trade, 0, len(trades))
	for _, t := range trades {
		if !t.Open {
			closed = append(closed, t.Record)
		}
	}
	slices.SortStableFunc(closed, func(a, b trade.Trade) int {
		switch {
		case a.CloseTime < b.CloseTime:
			return -1
		case a.CloseTime > b.CloseTime:
			return 1
		}
		return slices.Index(dep.Spec.Pairs, a.Pair) - slices.Index(dep.Spec.Pairs, b.Pair)
	})
	res.Trades = closed
	for _, t := range closed {
		res.FinalBalance += t.ProfitAbs
	}
	if len(closed) > 0 {
		res.Start, res.End = closed[0].OpenTime, closed[len(closed)-1].CloseTime
		for _, t := range closed {
			res.Start = min(res.Start, t.OpenTime)
		}
	}
	for _, e := range equity {
		res.Equity = append(res.Equity, result.EquityPoint{Time: e.Time.UnixMilli(), Equity: e.Equity})
	}
	res.TakeCurveDrawdown(res.Equity)
	return res
}

// The HTTP operations.

type deploymentCreateInput struct {
	Body apitype.DeploymentRequest
}

type deploymentOutput struct {
	Body apitype.Deployment
}

type deploymentListOutput struct {
	Body apitype.DeploymentList
}

type deploymentInput struct {
	ID string `path:"id" maxLength:"64"`
}

type accountLimitsInput struct {
	Body apitype.AccountLimits
}

type accountLimitsQuery struct {
	Venue   string `query:"venue" required:"true" minLength:"1" maxLength:"300"`
	Account string `query:"account" required:"true" minLength:"1" maxLength:"200"`
}

type accountLimitsOutput struct {
	Body apitype.AccountLimits
}

type stopAllInput struct {
	Body *apitype.StopAllRequest `required:"false"`
}

type stopAllOutput struct {
	Body apitype.StopAllResult
}

type deploymentPromoteInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body apitype.DeploymentPromoteRequest
}

type deploymentPromoteOutput struct {
	Status int
	Body   apitype.Promotion
}

type deploymentStopInput struct {
	ID   string               `path:"id" maxLength:"64"`
	Body *apitype.StopRequest `required:"false"`
}

type deploymentLogsInput struct {
	ID    string `path:"id" maxLength:"64"`
	After int64  `query:"after" minimum:"0" doc:"Lines after this seq (0: from the oldest kept)"`
	Limit int    `query:"limit" minimum:"0" maximum:"10000" doc:"Lines at most (default and maximum 10,000)"`
	Wait  int    `query:"wait" minimum:"0" maximum:"60" doc:"Seconds to wait for a line when there is none yet (long poll; logs -f)"`
}

type deploymentLogsOutput struct {
	Body apitype.LogPage
}

type deploymentTradesOutput struct {
	Body apitype.DeploymentTradeList
}

type deploymentOrdersOutput struct {
	Body apitype.DeploymentOrderList
}

type deploymentPositionsOutput struct {
	Body apitype.PositionList
}

type deploymentEquityOutput struct {
	Body apitype.EquityCurve
}

type deploymentReportOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

// deployments is the operations, or the 501 of a server without them.
func (s *Server) deployments(ctx context.Context) (*Deployments, tenancy.Principal, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, p, err
	}
	if s.dep == nil {
		return nil, p, problem(http.StatusNotImplemented, apitype.CodeNotFound, "this server has no deployments")
	}
	return s.dep, p, nil
}

func (s *Server) registerDeployments() {
	tags := []string{"deployments"}
	op := func(id, method, path, summary, desc string) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: deploymentsPath + path, Summary: summary, Description: desc, Tags: tags, Security: secured}
	}
	create := op("create-deployment", http.MethodPost, "", "Deploy a strategy version on a venue",
		"Checks everything first — the version (404 when unknown), the config's risk settings, the timeframe against the strategy's, "+
			"the venue and mode, the account (a paper deployment naming a new one gets it, funded with dry_run_wallet), the pairs against the venue's markets — "+
			"and answers 422 naming the field, with nothing stored. Then the deployment is stored as starting; a runner takes it within a heartbeat (10 s).")
	create.DefaultStatus = http.StatusCreated
	huma.Register(s.api, create, func(ctx context.Context, in *deploymentCreateInput) (*deploymentOutput, error) {
		d, p, err := s.deployments(ctx)
		if err != nil {
			return nil, err
		}
		v, err := d.Create(ctx, p, in.Body)
		return &deploymentOutput{Body: v}, err
	})
	huma.Register(s.api, op("list-deployments", http.MethodGet, "", "Your deployments, newest first", ""), func(ctx context.Context, _ *struct{}) (*deploymentListOutput, error) {
		d, p, err := s.deployments(ctx)
		if err != nil {
			return nil, err
		}
		v, err := d.List(ctx, p)
		return &deploymentListOutput{Body: v}, err
	})
	huma.Register(s.api, op("get-deployment", http.MethodGet, "/{id}", "A deployment: state, last tick and heartbeat, trades, equity and profit",
		"stale is the missed-heartbeat alert: a deployment that should run whose runner has not renewed its lease for 30 s."),
		func(ctx context.Context, in *deploymentInput) (*deploymentOutput, error) {
			d, p, err := s.deployments(ctx)
			if err != nil {
				return nil, err
			}
			v, err := d.Get(ctx, p, in.ID)
			return &deploymentOutput{Body: v}, err
		})
	huma.Register(s.api, op("stop-all-deployments", http.MethodPost, "/stop-all", "The kill switch: stop every deployment of your tenant",
		"Every deployment that still trades (paper and live, or the modes named) is asked to cancel its open orders — resting stop-losses included — "+
			"and, with flatten, to close its positions at the market, then stop; its runner does within about a second. Deployments no runner holds "+
			"stop at once. platform=true stops every tenant's (the server's operators only: 403). Audited with who."),
		func(ctx context.Context, in *stopAllInput) (*stopAllOutput, error) {
			d, p, err := s.deployments(ctx)
			if err != nil {
				return nil, err
			}
			var req apitype.StopAllRequest
			if in.Body != nil {
				req = *in.Body
			}
			v, err := d.StopAll(ctx, p, req)
			return &stopAllOutput{Body: v}, err
		})
	huma.Register(s.api, op("promote-deployment", http.MethodPost, "/{id}/promote", "Promote a paper deployment to live",
		"The paper → live hand-off. Without confirm nothing is created: the answer shows the paper deployment's results, the risk limits the live "+
			"deployment will trade under and a token. Sent again with confirm set to that token (within 10 minutes, the plan unchanged), it creates the "+
			"live deployment of the same strategy version, pairs, timeframe and config on the account (201), audited with who. The paper deployment must "+
			"have run the server's minimum time and closed its minimum of trades (a 422 naming path.id says how far it is); the account must be one of "+
			"yours, of the venue (404 naming body.account)."),
		func(ctx context.Context, in *deploymentPromoteInput) (*deploymentPromoteOutput, error) {
			d, p, err := s.deployments(ctx)
			if err != nil {
				return nil, err
			}
			v, err := d.Promote(ctx, p, in.ID, in.Body)
			out := &deploymentPromoteOutput{Status: http.StatusOK, Body: v}
			if v.Live != nil {
				out.Status = http.StatusCreated
			}
			return out, err
		})
	huma.Register(s.api, op("set-account-limits", http.MethodPut, "/account-limits", "Set the risk limits of one of your venue accounts",
		"Every deployment on the account trades under the tighter of its own risk_limits and these (from its runner's next start). A bad limit is a 422 naming the key. Audited."),
		func(ctx context.Context, in *accountLimitsInput) (*accountLimitsOutput, error) {
			d, p, err := s.deployments(ctx)
			if err != nil {
				return nil, err
			}
			v, err := d.SetAccountLimits(ctx, p, in.Body)
			return &accountLimitsOutput{Body: v}, err
		})
	huma.Register(s.api, op("get-account-limits", http.MethodGet, "/account-limits", "The risk limits of one of your venue accounts", "None recorded: an empty risk_limits."),
		func(ctx context.Context, in *accountLimitsQuery) (*accountLimitsOutput, error) {
			d, p, err := s.deployments(ctx)
			if err != nil {
				return nil, err
			}
			v, err := d.AccountLimits(ctx, p, in.Venue, in.Account)
			return &accountLimitsOutput{Body: v}, err
		})
	huma.Register(s.api, op("stop-deployment", http.MethodPost, "/{id}/stop", "Stop a deployment for good",
		"Its runner stops within about a second; without flatten the open trades stay at the venue. flatten=true closes them at the market first."),
		func(ctx context.Context, in *deploymentStopInput) (*deploymentOutput, error) {
			d, p, err := s.deployments(ctx)
			if err != nil {
				return nil, err
			}
			v, err := d.Stop(ctx, p, in.ID, in.Body != nil && in.Body.Flatten)
			return &deploymentOutput{Body: v}, err
		})
	for _, x := range []struct {
		id, path, summary string
		do                func(*Deployments, context.Context, tenancy.Principal, string) (apitype.Deployment, error)
	}{
		{"pause-deployment", "/{id}/pause", "Pause a deployment: no new trades, open ones still managed", (*Deployments).Pause},
		{"resume-deployment", "/{id}/resume", "Resume a paused deployment", (*Deployments).Resume},
	} {
		huma.Register(s.api, op(x.id, http.MethodPost, x.path, x.summary, "A deployment in another state is a 409."),
			func(ctx context.Context, in *deploymentInput) (*deploymentOutput, error) {
				d, p, err := s.deployments(ctx)
				if err != nil {
					return nil, err
				}
				v, err := x.do(d, ctx, p, in.ID)
				return &deploymentOutput{Body: v}, err
			})
	}
	huma.Register(s.api, op("deployment-logs", http.MethodGet, "/{id}/logs", "A deployment's log lines",
		"Follow it by passing the answer's next as after= with wait= (seconds): the call returns as soon as a line is there."),
		func(ctx context.Context, in *deploymentLogsInput) (*deploymentLogsOutput, error) {
			d, p, err := s.deployments(ctx)
			if err != nil {
				return nil, err
			}
			v, err := d.Logs(ctx, p, in.ID, in.After, in.Limit, time.Duration(in.Wait)*time.Second)
			return &deploymentLogsOutput{Body: v}, err
		})
	huma.Register(s.api, op("deployment-trades", http.MethodGet, "/{id}/trades", "A deployment's trades, open and closed, in the order they opened", ""),
		func(ctx context.Context, in *deploymentInput) (*deploymentTradesOutput, error) {
			d, p, err := s.deployments(ctx)
			if err != nil {
				return nil, err
			}
			v, err := d.Trades(ctx, p, in.ID)
			return &deploymentTradesOutput{Body: v}, err
		})
	huma.Register(s.api, op("deployment-orders", http.MethodGet, "/{id}/orders", "A deployment's orders, oldest first", ""),
		func(ctx context.Context, in *deploymentInput) (*deploymentOrdersOutput, error) {
			d, p, err := s.deployments(ctx)
			if err != nil {
				return nil, err
			}
			v, err := d.Orders(ctx, p, in.ID)
			return &deploymentOrdersOutput{Body: v}, err
		})
	huma.Register(s.api, op("deployment-positions", http.MethodGet, "/{id}/positions", "A deployment's positions: its open trades", ""),
		func(ctx context.Context, in *deploymentInput) (*deploymentPositionsOutput, error) {
			d, p, err := s.deployments(ctx)
			if err != nil {
				return nil, err
			}
			v, err := d.Positions(ctx, p, in.ID)
			return &deploymentPositionsOutput{Body: v}, err
		})
	huma.Register(s.api, op("deployment-equity", http.MethodGet, "/{id}/equity", "A deployment's equity curve (hourly marks)", ""),
		func(ctx context.Context, in *deploymentInput) (*deploymentEquityOutput, error) {
			d, p, err := s.deployments(ctx)
			if err != nil {
				return nil, err
			}
			v, err := d.Equity(ctx, p, in.ID)
			return &deploymentEquityOutput{Body: v}, err
		})
	rep := op("deployment-report", http.MethodGet, "/{id}/report", "The HTML report of a deployment's closed trades, as a backtest's", "")
	rep.Responses = map[string]*huma.Response{"200": {Description: "The report", Content: map[string]*huma.MediaType{"text/html": {}}}}
	huma.Register(s.api, rep, func(ctx context.Context, in *deploymentInput) (*deploymentReportOutput, error) {
		d, p, err := s.deployments(ctx)
		if err != nil {
			return nil, err
		}
		b, err := d.Report(ctx, p, in.ID)
		if err != nil {
			return nil, err
		}
		return &deploymentReportOutput{ContentType: "text/html; charset=utf-8", Body: b}, nil
	})
}
