package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/accounts"
	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/deploy"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/sim/simstore"
	"github.com/tradai/tradai/internal/tenancy"
)

// deployments is what the deploy commands call: a server's
// (*client.Client) or the local database's (localDeployments).
type deployments interface {
	CreateDeployment(ctx context.Context, req apitype.DeploymentRequest) (apitype.Deployment, error)
	Deployments(ctx context.Context) ([]apitype.Deployment, error)
	Deployment(ctx context.Context, id string) (apitype.Deployment, error)
	StopDeployment(ctx context.Context, id string, flatten bool) (apitype.Deployment, error)
	StopAllDeployments(ctx context.Context, req apitype.StopAllRequest) (apitype.StopAllResult, error)
	SetAccountLimits(ctx context.Context, l apitype.AccountLimits) (apitype.AccountLimits, error)
	AccountLimits(ctx context.Context, venue, account string) (apitype.AccountLimits, error)
	PauseDeployment(ctx context.Context, id string) (apitype.Deployment, error)
	ResumeDeployment(ctx context.Context, id string) (apitype.Deployment, error)
	DeploymentLogs(ctx context.Context, id string, after int64, limit int, wait time.Duration) (apitype.LogPage, error)
	DeploymentTrades(ctx context.Context, id string) ([]apitype.DeploymentTrade, error)
	DeploymentOrders(ctx context.Context, id string) ([]apitype.DeploymentOrder, error)
	DeploymentPositions(ctx context.Context, id string) ([]apitype.Position, error)
	DeploymentEquity(ctx context.Context, id string) ([]apitype.EquityPoint, error)
	DeploymentReport(ctx context.Context, id string) ([]byte, error)
	PromoteDeployment(ctx context.Context, id string, req apitype.DeploymentPromoteRequest) (apitype.Promotion, error)
}

// deployOpts are the flags choosing where deployments live: --remote (or
// $TRADAI_URL) for a server's, else the local database's.
type deployOpts struct {
	registryOpts
	simURL, simAdminToken string
}

func (o *deployOpts) addFlags(cmd *cobra.Command) {
	o.registryOpts.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.simURL, "sim-url", "http://127.0.0.1:8090", `local mode: the simulator the venue "sim" names (tradai serve --sim's --sim-addr, or tradai sim's --addr)`)
	f.StringVar(&o.simAdminToken, "sim-admin-token", os.Getenv("TRADAI_SIM_ADMIN_TOKEN"), "local mode: that simulator's admin token (default $TRADAI_SIM_ADMIN_TOKEN)")
}

// with runs do with the deployments the flags name.
func (o *deployOpts) with(cmd *cobra.Command, do func(ctx context.Context, d deployments) error) error {
	return withEither(cmd, &o.registryOpts, func(rc *remote) deployments { return rc.c },
		func(_ context.Context, d *db.DB, log *slog.Logger, l *localRegistry) (deployments, error) {
			store, err := deploy.New(deploy.Config{DB: d, Log: log})
			if err != nil {
				return nil, err
			}
			// Checking a live deployment's stored account needs no
			// key-encryption key: only the runner opens its credentials.
			keys, err := accounts.New(accounts.Config{DB: d, Log: log})
			if err != nil {
				return nil, err
			}
			// Local mode works on the database itself: its user is an operator.
			ops, err := api.NewDeployments(api.DeploymentsConfig{Store: store, Venues: o.localVenues(d, keys, log), Registry: l.reg, Log: log, Operators: []string{l.p.User}})
			if err != nil {
				return nil, err
			}
			return localDeployments{ops: ops, p: l.p}, nil
		}, do)
}

// localVenues are the venues of local mode: the simulator the flags name
// (any URL taken), with the database's simulator accounts, and the stored
// venue accounts keys holds.
func (o *deployOpts) localVenues(d *db.DB, keys *accounts.Store, log *slog.Logger) *platform.Venues {
	return &platform.Venues{SimURL: func() string { return o.simURL }, SimAdminToken: o.simAdminToken, AnyURL: true,
		Accounts: simstore.New(d, clock.Real(), log), Keys: keys, Log: log}
}

// localDeployments are the deployments of the local database, as one
// user: the API's operations without HTTP.
type localDeployments struct {
	ops *api.Deployments
	p   tenancy.Principal
}

func (l localDeployments) CreateDeployment(ctx context.Context, req apitype.DeploymentRequest) (apitype.Deployment, error) {
	return l.ops.Create(ctx, l.p, req)
}

func (l localDeployments) Deployments(ctx context.Context) ([]apitype.Deployment, error) {
	v, err := l.ops.List(ctx, l.p)
	return v.Deployments, err
}

func (l localDeployments) Deployment(ctx context.Context, id string) (apitype.Deployment, error) {
	return l.ops.Get(ctx, l.p, id)
}

func (l localDeployments) StopDeployment(ctx context.Context, id string, flatten bool) (apitype.Deployment, error) {
	return l.ops.Stop(ctx, l.p, id, flatten)
}

func (l localDeployments) StopAllDeployments(ctx context.Context, req apitype.StopAllRequest) (apitype.StopAllResult, error) {
	return l.ops.StopAll(ctx, l.p, req)
}

func (l localDeployments) SetAccountLimits(ctx context.Context, a apitype.AccountLimits) (apitype.AccountLimits, error) {
	return l.ops.SetAccountLimits(ctx, l.p, a)
}

func (l localDeployments) AccountLimits(ctx context.Context, venue, account string) (apitype.AccountLimits, error) {
	return l.ops.AccountLimits(ctx, l.p, venue, account)
}

func (l localDeployments) PauseDeployment(ctx context.Context, id string) (apitype.Deployment, error) {
	return l.ops.Pause(ctx, l.p, id)
}

func (l localDeployments) ResumeDeployment(ctx context.Context, id string) (apitype.Deployment, error) {
	return l.ops.Resume(ctx, l.p, id)
}

func (l localDeployments) DeploymentLogs(ctx context.Context, id string, after int64, limit int, wait time.Duration) (apitype.LogPage, error) {
	return l.ops.Logs(ctx, l.p, id, after, limit, wait)
}

func (l localDeployments) DeploymentTrades(ctx context.Context, id string) ([]apitype.DeploymentTrade, error) {
	v, err := l.ops.Trades(ctx, l.p, id)
	return v.Trades, err
}

func (l localDeployments) DeploymentOrders(ctx context.Context, id string) ([]apitype.DeploymentOrder, error) {
	v, err := l.ops.Orders(ctx, l.p, id)
	return v.Orders, err
}

func (l localDeployments) DeploymentPositions(ctx context.Context, id string) ([]apitype.Position, error) {
	v, err := l.ops.Positions(ctx, l.p, id)
	return v.Positions, err
}

func (l localDeployments) DeploymentEquity(ctx context.Context, id string) ([]apitype.EquityPoint, error) {
	v, err := l.ops.Equity(ctx, l.p, id)
	return v.Points, err
}

func (l localDeployments) PromoteDeployment(ctx context.Context, id string, req apitype.DeploymentPromoteRequest) (apitype.Promotion, error) {
	return l.ops.Promote(ctx, l.p, id, req)
}

func (l localDeployments) DeploymentReport(ctx context.Context, id string) ([]byte, error) {
	return l.ops.Report(ctx, l.p, id)
}

func newDeployCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Trade a strategy version continuously: create, list, show, stop, pause, resume deployments, read their logs, trades and reports",
		Long: `deploy runs a strategy version on a venue, continuously, as a backtest would
decide: in paper mode on the simulator (tradai serve --sim, or any
Binance-compatible URL), in live mode on one of your stored accounts (docs/live.md),
after a paper run: deploy promote.
A runner process (tradai serve runs one; tradai runner adds more) takes
each deployment within 10 s and trades it on every candle close.

Without --remote (or $TRADAI_URL) the commands work on the local database
(<home>/tradai.db, or --database) as --user; a tradai serve or tradai runner
on that database trades what they create. See docs/deployments.md.`,
	}
	for _, c := range []func(*deployOpts) *cobra.Command{newDeployCreateCmd, newDeployListCmd, newDeployShowCmd, newDeployStopCmd, newDeployLimitsCmd,
		newDeployPauseCmd, newDeployResumeCmd, newDeployLogsCmd, newDeployTradesCmd, newDeployOrdersCmd, newDeployPositionsCmd,
		newDeployEquityCmd, newDeployReportCmd, newDeployPromoteCmd} {
		o := &deployOpts{registryOpts: registryOpts{local: dbOpts{logger: logger}}}
		sub := c(o)
		o.addFlags(sub)
		cmd.AddCommand(sub)
	}
	return cmd
}

func newDeployCreateCmd(o *deployOpts) *cobra.Command {
	var (
		req        apitype.DeploymentRequest
		configPath string
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "create --strategy NAME@production --venue sim --account NAME --pairs BTC/USDT --timeframe 5m",
		Short: "Deploy a strategy version: checked, stored, and taken by a runner within 10 s",
		Example: `  tradai deploy create --strategy sma_cross --mode paper --venue sim --account paper1 --pairs ETH/BTC,LTC/BTC --timeframe 5m
  tradai deploy create --strategy mystrat@production --venue sim --account paper1 --pairs BTC/USDT --timeframe 1h --config risk.json --remote http://tradai:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath != "" {
				m, err := readConfigObject(configPath)
				if err != nil {
					return err
				}
				req.Config = m
			}
			for _, f := range []struct{ name, v string }{{"strategy", req.Strategy}, {"venue", req.Venue}, {"account", req.Account}, {"timeframe", req.Timeframe}} {
				if f.v == "" {
					return fmt.Errorf("deploy create: --%s is required", f.name)
				}
			}
			if len(req.Pairs) == 0 {
				return errors.New("deploy create: --pairs is required")
			}
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				dep, err := d.CreateDeployment(ctx, req)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), dep)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deployment %s created (%s): %s, %s on %s account %s, %s %s\n", dep.ID, dep.State, strategyName(dep),
					dep.Mode, dep.Venue, dep.Account, strings.Join(dep.Pairs, ","), dep.Timeframe)
				fmt.Fprintf(cmd.ErrOrStderr(), "a runner (tradai serve, tradai runner) takes it within 10 s; follow it with: tradai deploy logs -f %s\n", dep.ID)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Strategy, "strategy", "", "a built-in strategy or a registry version: NAME@production, NAME@3 …")
	f.StringVar(&req.Mode, "mode", "paper", "paper (the simulator's money) or live (a stored venue account: tradai accounts add)")
	f.StringVar(&req.Venue, "venue", "sim", "sim (the server's simulator), binance (live), or a Binance-compatible API's URL")
	f.StringVar(&req.Account, "account", "", "paper: your simulator account, by name or id (a new name is created, funded with the config's dry_run_wallet); live: your stored venue account of the venue (tradai accounts list)")
	f.StringSliceVar(&req.Pairs, "pairs", nil, "pairs to trade, e.g. ETH/BTC,LTC/BTC")
	f.StringVar(&req.Timeframe, "timeframe", "", "candle timeframe, the strategy's (e.g. 5m)")
	f.StringVar(&configPath, "config", "", "a JSON file of Freqtrade config keys: risk settings, stake, max_open_trades, dry_run_wallet …")
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func strategyName(d apitype.Deployment) string {
	if d.StrategyVersion > 0 {
		return d.Strategy + "@" + strconv.Itoa(d.StrategyVersion)
	}
	return d.Strategy
}

// age is how long ago t was, or "-".
func age(t *time.Time, seconds float64) string {
	if t == nil {
		return "-"
	}
	return (time.Duration(seconds) * time.Second).Round(time.Second).String() + " ago"
}

func optTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return fmtTime(*t)
}

func stateOf(d apitype.Deployment) string {
	if d.Stale {
		return d.State + " (STALE: no heartbeat)"
	}
	return d.State
}

func newDeployListCmd(o *deployOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List deployments, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				deps, err := d.Deployments(ctx)
				if err != nil {
					return err
				}
				return printAnswer(cmd, asJSON, apitype.DeploymentList{Deployments: deps}, deps, "no deployments", "ID\tSTATE\tSTRATEGY\tMODE\tVENUE\tACCOUNT\tPAIRS\tTF\tLAST TICK\tHEARTBEAT", func(x apitype.Deployment) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", x.ID, stateOf(x), strategyName(x), x.Mode, x.Venue, x.Account,
						oneLine(strings.Join(x.Pairs, ","), 40), x.Timeframe, optTime(x.LastTick), age(x.Heartbeat, x.HeartbeatAge))
				})
			})
		},
	}
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func writeDeployment(w io.Writer, x apitype.Deployment) error {
	tw := newTable(w)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("id", x.ID)
	row("state", stateOf(x))
	if x.Error != "" {
		row("error", x.Error)
	}
	row("strategy", strategyName(x))
	if x.CodeSHA256 != "" {
		row("code", x.CodeSHA256)
	}
	row("mode", x.Mode)
	row("venue", x.Venue)
	row("account", x.Account)
	row("pairs", strings.Join(x.Pairs, ", "))
	row("timeframe", x.Timeframe)
	row("created", fmtTime(x.CreatedAt))
	if x.Runner != "" {
		row("runner", x.Runner)
	}
	if x.StopAsked {
		row("stop asked", "the kill switch: its runner cancels its open orders, then stops it")
	}
	if r := x.Risk; r != nil {
		if r.Breaker != "" {
			b := r.Breaker
			if r.BreakerSince != nil {
				b += " since " + fmtTime(*r.BreakerSince)
			}
			row("circuit breaker", b)
		}
		if r.Halted != "" {
			h := r.Halted
			if r.HaltedAt != nil {
				h = fmtTime(*r.HaltedAt) + ": " + h
			}
			row("paused by risk", h)
		}
	}
	row("last tick", optTime(x.LastTick))
	row("heartbeat", optTime(x.Heartbeat)+" ("+age(x.Heartbeat, x.HeartbeatAge)+")")
	if s := x.Summary; s != nil && s.Account != nil && s.Account.Deployments > 0 {
		a := s.Account
		row("account today", fmt.Sprintf("%d deployments: exposure %.8g, %d open orders, %d entries (%d orders in the last minute), equity %.8g (day's start %.8g, loss %.4g%%)",
			a.Deployments, a.Exposure, a.OpenOrders, a.OrdersToday, a.OrdersLastMinute, a.Equity, a.DayStart, 100*a.DailyLoss))
	}
	if s := x.Summary; s != nil {
		row("open trades", strconv.Itoa(s.OpenTrades))
		row("closed trades", strconv.Itoa(s.ClosedTrades))
		eq := fmt.Sprintf("%.8g", s.Equity)
		if s.EquityAt != nil {
			eq += " (at " + fmtTime(*s.EquityAt) + ")"
		}
		row("equity", eq)
		row("realised profit", fmt.Sprintf("%.8g", s.RealisedProfit))
		row("unrealised profit", fmt.Sprintf("%.8g", s.UnrealisedProfit))
		row("orders today", strconv.Itoa(s.OrdersToday))
		row("cpu", fmt.Sprintf("%.3f s", s.CPUSeconds))
		mem := fmtSize(s.PeakMemoryBytes)
		if s.PeakMemoryBytes == 0 {
			mem = "- (a built-in shares the runner's memory)"
		}
		row("peak memory", mem)
		row("venue weight", fmt.Sprintf("%d (the venue's count of the last minute: %d)", s.VenueWeight, s.VenueWeight1m))
	}
	if dr := x.Drift; dr != nil {
		row("drift", fmt.Sprintf("%.2f (1 is the alarm) at %s: %s", dr.Score, fmtTime(dr.ComputedAt), dr.Verdict))
		for _, f := range dr.Features {
			mark := ""
			if f.Drifted {
				mark = ", drifted"
			}
			row("  "+strings.ReplaceAll(f.Name, "_", " "), fmt.Sprintf("score %.2f: psi %.3f, ks %.3f (p %.3g); %d live, %d backtest%s",
				f.Score, f.PSI, f.KS, f.KSP, f.Live, f.Reference, mark))
		}
	}
	return tw.Flush()
}

func newDeployShowCmd(o *deployOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a deployment: state, last tick, heartbeat and its age, trades, equity, profit, orders today, its cost (CPU, memory, venue weight)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				x, err := d.Deployment(ctx, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), x)
				}
				return writeDeployment(cmd.OutOrStdout(), x)
			})
		},
	}
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func newDeployStopCmd(o *deployOpts) *cobra.Command {
	var flatten, all, platformWide bool
	var modes []string
	cmd := &cobra.Command{
		Use:   "stop ID | --all",
		Short: "Stop a deployment for good (its open trades stay at the venue, unless --flatten); --all is the kill switch",
		Long: `Stop a deployment for good. Its runner stops within about a second; its open
trades stay at the venue unless --flatten closes them at the market first.

stop --all is the kill switch: every deployment of your tenant that still
trades (paper and live; --mode to choose) cancels its open orders — resting
stop-losses included — and, with --flatten, closes its positions at the
market, then stops, within about a second. --platform stops every tenant's
(the server's operators; in local mode, you). Audited with who.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if all {
				return cobra.NoArgs(cmd, args)
			}
			if platformWide || len(modes) > 0 {
				return fmt.Errorf("--platform and --mode go with --all")
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				w := cmd.OutOrStdout()
				if all {
					r, err := d.StopAllDeployments(ctx, apitype.StopAllRequest{Flatten: flatten, Platform: platformWide, Modes: modes})
					if err != nil {
						return err
					}
					how := "cancels the open orders"
					if flatten {
						how += " and closes the positions"
					}
					for _, id := range r.Asked {
						fmt.Fprintf(w, "deployment %s: stopping (its runner %s, then stops it)\n", id, how)
					}
					for _, id := range r.Stopped {
						fmt.Fprintf(w, "deployment %s stopped (no runner held it)\n", id)
					}
					fmt.Fprintf(w, "%d deployments stopping, %d stopped\n", len(r.Asked), len(r.Stopped))
					return nil
				}
				x, err := d.StopDeployment(ctx, args[0], flatten)
				if err != nil {
					return err
				}
				if x.Flatten && x.State != "stopped" && x.State != "failed" {
					fmt.Fprintf(w, "deployment %s: its runner closes the open positions at the market, then stops it\n", x.ID)
					return nil
				}
				fmt.Fprintf(w, "deployment %s %s\n", x.ID, x.State)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&flatten, "flatten", false, "close the open positions first: the runner sells them at the market at once, then stops")
	f.BoolVar(&all, "all", false, "the kill switch: stop every deployment of your tenant that still trades")
	f.BoolVar(&platformWide, "platform", false, "with --all: every tenant's deployments (operators only)")
	f.StringSliceVar(&modes, "mode", nil, "with --all: the modes stopped, paper and/or live (default both)")
	return cmd
}

func newDeployLimitsCmd(o *deployOpts) *cobra.Command {
	var venue, account, configPath string
	cmd := &cobra.Command{
		Use:   "limits --venue V --account A [--config risk.json]",
		Short: "Show, or set from a config's risk_limits, the risk limits of one of your venue accounts (every deployment on it trades under the tighter)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				var (
					l   apitype.AccountLimits
					err error
				)
				if configPath == "" {
					l, err = d.AccountLimits(ctx, venue, account)
				} else {
					cfg, rerr := readConfigObject(configPath)
					if rerr != nil {
						return rerr
					}
					rl, ok := cfg["risk_limits"].(map[string]any)
					if !ok {
						return fmt.Errorf("config %s: no risk_limits object", configPath)
					}
					l, err = d.SetAccountLimits(ctx, apitype.AccountLimits{Venue: venue, Account: account, RiskLimits: rl})
				}
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), l)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&venue, "venue", "sim", "the venue, as deployments name it")
	f.StringVar(&account, "account", "", "the account, as deployments name it")
	f.StringVar(&configPath, "config", "", "a JSON config whose risk_limits object becomes the account's limits (without: show them)")
	_ = cmd.MarkFlagRequired("account")
	return cmd
}

func newDeployPromoteCmd(o *deployOpts) *cobra.Command {
	var to, account, venue string
	var yes, asJSON bool
	cmd := &cobra.Command{
		Use:   "promote ID --to live --account A [--venue V] [--yes]",
		Short: "Promote a paper deployment to live: the same version and config on one of your stored accounts, after confirmation",
		Long: `promote is the paper → live hand-off. It shows the paper deployment's
results and the risk limits the live deployment will trade under, then asks
you to confirm (type yes; --yes confirms without asking). Confirmed, it
creates a live deployment of the same strategy version, pairs, timeframe
and config on the account, audited with who and when.

The paper deployment must have run the server's minimum time and closed its
minimum of trades (tradai serve --promote-min-age, --promote-min-trades;
a week and 10 trades by default). --venue is the live deployment's venue
(default the paper one's): binance with a stored binance account, or the
simulator with a stored sim account. See docs/live.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				w := cmd.OutOrStdout()
				req := apitype.DeploymentPromoteRequest{To: to, Account: account, Venue: venue}
				plan, err := d.PromoteDeployment(ctx, args[0], req)
				if err != nil {
					return err
				}
				if !yes {
					printPromotion(w, plan)
					fmt.Fprintf(w, "Create this live deployment, trading real money on %s account %s? Type yes: ", plan.Venue, plan.Account)
					line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
					if strings.TrimSpace(line) != "yes" {
						return errors.New("not promoted: not confirmed (type yes, or pass --yes)")
					}
				}
				req.Confirm = plan.Token
				done, err := d.PromoteDeployment(ctx, args[0], req)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(w, done)
				}
				if done.Live == nil {
					return errors.New("the server created no live deployment")
				}
				fmt.Fprintf(w, "deployment %s created (%s): %s, live on %s account %s, promoted from %s\n", done.Live.ID, done.Live.State,
					strategyName(*done.Live), done.Live.Venue, done.Live.Account, args[0])
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "live", "the mode promoted to")
	f.StringVar(&account, "account", "", "one of your stored venue accounts (tradai accounts add)")
	f.StringVar(&venue, "venue", "", "the live deployment's venue (default the paper deployment's): binance, sim or a simulator URL")
	f.BoolVar(&yes, "yes", false, "confirm without asking")
	addJSONFlag(cmd, &asJSON)
	_ = cmd.MarkFlagRequired("account")
	return cmd
}

// printPromotion shows a promotion's plan: the paper results and the
// risk limits that will apply.
func printPromotion(w io.Writer, p apitype.Promotion) {
	r := p.Paper
	fmt.Fprintf(w, "paper deployment %s (%s, %s): ran %s (minimum %s)\n", r.ID, strategyName(apitype.Deployment{Strategy: r.Strategy, StrategyVersion: r.StrategyVersion}), r.State,
		(time.Duration(r.RanSeconds) * time.Second).String(), (time.Duration(r.MinSeconds) * time.Second).String())
	fmt.Fprintf(w, "  trades: %d closed (minimum %d), %d won, %d open; realised profit %.8g on a starting balance of %.8g\n",
		r.ClosedTrades, r.MinTrades, r.Wins, r.OpenTrades, r.RealisedProfit, r.StartingBalance)
	fmt.Fprintf(w, "live on %s, account %s, under these risk limits:\n", p.Venue, p.Account)
	keys := make([]string, 0, len(p.RiskLimits))
	for k := range p.RiskLimits {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s: %v\n", k, p.RiskLimits[k])
	}
}

func newDeployPauseCmd(o *deployOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "pause ID",
		Short: "Pause a deployment: it opens no trade, and still manages its open ones",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				x, err := d.PauseDeployment(ctx, args[0])
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "deployment %s %s\n", x.ID, x.State)
				}
				return err
			})
		},
	}
}

func newDeployResumeCmd(o *deployOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "resume ID",
		Short: "Resume a paused deployment",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				x, err := d.ResumeDeployment(ctx, args[0])
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "deployment %s %s\n", x.ID, x.State)
				}
				return err
			})
		},
	}
}

func writeLogLine(w io.Writer, l apitype.LogLine) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-5s %s", l.Time.UTC().Format("2006-01-02 15:04:05.000"), l.Level, l.Msg)
	keys := make([]string, 0, len(l.Attrs))
	for k := range l.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := l.Attrs[k]
		if strings.ContainsAny(v, " \t\"") {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	fmt.Fprintln(w, b.String())
}

func newDeployLogsCmd(o *deployOpts) *cobra.Command {
	var (
		follow bool
		after  int64
	)
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Print a deployment's log; -f follows it until interrupted",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				for {
					wait := time.Duration(0)
					if follow {
						wait = 30 * time.Second
					}
					page, err := d.DeploymentLogs(ctx, args[0], after, 0, wait)
					if err != nil {
						if follow && ctx.Err() != nil {
							return nil
						}
						return err
					}
					for _, l := range page.Lines {
						writeLogLine(cmd.OutOrStdout(), l)
					}
					after = page.Next
					if !follow && len(page.Lines) < 10_000 {
						return nil
					}
					if ctx.Err() != nil {
						return nil
					}
				}
			})
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines as the runner writes them (Ctrl-C ends)")
	cmd.Flags().Int64Var(&after, "after", 0, "only lines after this sequence number")
	return cmd
}

func newDeployTradesCmd(o *deployOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "trades ID",
		Short: "List a deployment's trades, open and closed, in the order they opened",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				ts, err := d.DeploymentTrades(ctx, args[0])
				if err != nil {
					return err
				}
				return printAnswer(cmd, asJSON, apitype.DeploymentTradeList{Trades: ts}, ts, "no trades yet", "SEQ\tPAIR\tOPENED\tOPEN RATE\tAMOUNT\tCLOSED\tCLOSE RATE\tPROFIT\tEXIT", func(t apitype.DeploymentTrade) string {
					closed, rate, profit, exit := "open", "-", "-", "-"
					if !t.Open && t.CloseTime != nil {
						closed, rate, profit, exit = fmtTime(*t.CloseTime), fmt.Sprintf("%.8g", t.CloseRate), pctOf(t.ProfitRatio), t.ExitReason
					}
					return fmt.Sprintf("%d\t%s\t%s\t%.8g\t%.8g\t%s\t%s\t%s\t%s", t.Seq, t.Pair, fmtTime(t.OpenTime), t.OpenRate, t.Amount, closed, rate, profit, exit)
				})
			})
		},
	}
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func newDeployOrdersCmd(o *deployOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "orders ID",
		Short: "List a deployment's orders, oldest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				os, err := d.DeploymentOrders(ctx, args[0])
				if err != nil {
					return err
				}
				return printAnswer(cmd, asJSON, apitype.DeploymentOrderList{Orders: os}, os, "", "CLIENT ID\tCREATED\tPAIR\tSIDE\tTYPE\tSTATUS\tEXECUTED\tQUOTE\tREASON", func(x apitype.DeploymentOrder) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", x.ClientOrderID, fmtTime(x.CreatedAt), x.Pair, x.Side, x.Type, x.Status,
						x.Executed, x.QuoteExecuted, x.Reason)
				})
			})
		},
	}
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func newDeployPositionsCmd(o *deployOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "positions ID",
		Short: "List a deployment's positions (its open trades)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				ps, err := d.DeploymentPositions(ctx, args[0])
				if err != nil {
					return err
				}
				return printAnswer(cmd, asJSON, apitype.PositionList{Positions: ps}, ps, "no open positions", "PAIR\tTRADE\tQUANTITY\tOPEN RATE\tSTAKE\tOPENED\tSTOP", func(p apitype.Position) string {
					return fmt.Sprintf("%s\t%d\t%s\t%.8g\t%.8g\t%s\t%.8g", p.Pair, p.TradeSeq, p.Quantity, p.OpenRate, p.Stake, fmtTime(p.OpenTime), p.StopLoss)
				})
			})
		},
	}
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func newDeployEquityCmd(o *deployOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "equity ID",
		Short: "Print a deployment's equity curve (wallet plus open trades, hourly)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				es, err := d.DeploymentEquity(ctx, args[0])
				if err != nil {
					return err
				}
				return printAnswer(cmd, asJSON, apitype.EquityCurve{Points: es}, es, "", "TIME\tEQUITY", func(e apitype.EquityPoint) string {
					return fmt.Sprintf("%s\t%.8g", fmtTime(e.Time), e.Equity)
				})
			})
		},
	}
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func newDeployReportCmd(o *deployOpts) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "report ID --report r.html",
		Short: "Write the HTML report of a deployment's closed trades, the one a backtest gets",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if path == "" {
				return errors.New("deploy report: --report FILE is required")
			}
			return o.with(cmd, func(ctx context.Context, d deployments) error {
				b, err := d.DeploymentReport(ctx, args[0])
				if err != nil {
					return err
				}
				if err := writeBytes(path, b); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "report written to %s\n", path)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&path, "report", "", "the HTML file to write")
	return cmd
}
