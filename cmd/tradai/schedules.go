package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/api/apitype"
)

// withRemote runs do with the client of the server o names, explaining
// its errors.
func withRemote(cmd *cobra.Command, o *remoteOpts, do func(ctx context.Context, r *remote) error) error {
	r, err := o.connect()
	if err != nil {
		return err
	}
	return r.explain(do(cmd.Context(), r))
}

func newSchedulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedules",
		Short: "Schedule data refreshes and re-optimisations of deployments (cron, UTC) on a server",
		Long: `schedules keeps a deployment's strategy current: a refresh downloads the
latest candles of its pairs; a re-optimisation runs a study on the latest
window and makes its best trial a challenger, backtested out of sample beside
the deployed version and promoted when it wins (tradai challengers).
See docs/operations.md, "Schedules and the lifecycle".`,
	}
	var o remoteOpts
	var req apitype.ScheduleRequest
	var asJSON bool
	create := &cobra.Command{
		Use:   "create --deployment ID --action refresh|reoptimise --cron EXPR",
		Short: "Create a schedule",
		Example: `  tradai schedules create --deployment dep_0123 --action refresh --cron "0 * * * *" --window-days 3
  tradai schedules create --deployment dep_0123 --action reoptimise --cron "0 3 * * 1" --window-days 30 --holdout-days 7 --epochs 200 --sampler tpe --metric sharpe_daily_equity --margin 0.1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRemote(cmd, &o, func(ctx context.Context, r *remote) error {
				s, err := r.c.CreateSchedule(ctx, req)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), s)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "schedule %s: %s of %s at %q, next %s\n", s.ID, s.Spec.Action, s.Spec.Deployment, s.Spec.Cron, s.Next)
				return nil
			})
		},
	}
	f := create.Flags()
	f.StringVar(&req.Deployment, "deployment", "", "the deployment's id")
	f.StringVar(&req.Action, "action", "", "refresh or reoptimise")
	f.StringVar(&req.Cron, "cron", "", `when, in UTC: five fields ("0 3 * * 1": Mondays 03:00) or @hourly, @daily, @weekly, @every 6h`)
	f.IntVar(&req.WindowDays, "window-days", 0, "days a refresh downloads, or a study optimises on (default 30)")
	f.IntVar(&req.HoldoutDays, "holdout-days", 0, "reoptimise: days after the study's window where champion and challenger are backtested (default 7)")
	f.IntVar(&req.Epochs, "epochs", 0, "reoptimise: the study's trials (default 100)")
	f.StringVar(&req.Sampler, "sampler", "", "reoptimise: random, grid, tpe or cmaes")
	f.StringVar(&req.Loss, "loss", "", "reoptimise: the study's loss")
	f.Uint64Var(&req.Seed, "seed", 0, "reoptimise: the study's seed")
	f.StringVar(&req.Metric, "metric", "", "reoptimise: the out-of-sample metric compared (default profit_total)")
	f.Float64Var(&req.Margin, "margin", 0, "reoptimise: how much more than the champion's metric the challenger's must be")
	f.StringVar(&req.Approval, "approval", "", "reoptimise: manual (default: wait for tradai challengers approve) or auto")
	addJSONFlag(create, &asJSON)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the schedules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRemote(cmd, &o, func(ctx context.Context, r *remote) error {
				l, err := r.c.Schedules(ctx)
				if err != nil {
					return err
				}
				return printAnswer(cmd, asJSON, apitype.ScheduleList{Schedules: l}, l, "", "ID\tDEPLOYMENT\tACTION\tCRON\tNEXT\tLAST\tLAST ERROR", func(s apitype.Schedule) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", s.ID, s.Spec.Deployment, s.Spec.Action, s.Spec.Cron, s.Next, dash(s.Last), oneLine(s.LastError, 60))
				})
			})
		},
	}
	addJSONFlag(list, &asJSON)
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a schedule (its challengers stay)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withRemote(cmd, &o, func(ctx context.Context, r *remote) error {
				if err := r.c.DeleteSchedule(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "schedule %s deleted\n", args[0])
				return nil
			})
		},
	}
	for _, c := range []*cobra.Command{create, list, del} {
		o.addFlags(c.Flags(), "the TradAI server (default $TRADAI_URL, else "+defaultRemote+")")
		cmd.AddCommand(c)
	}
	return cmd
}

func newChallengersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "challengers",
		Short: "The re-optimisations' challengers on a server: list, approve (promote to production), reject",
	}
	var o remoteOpts
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the challengers, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRemote(cmd, &o, func(ctx context.Context, r *remote) error {
				l, err := r.c.Challengers(ctx)
				if err != nil {
					return err
				}
				return printAnswer(cmd, asJSON, apitype.ChallengerList{Challengers: l}, l, "", "ID\tDEPLOYMENT\tSTATE\tCHAMPION\tCHALLENGER\tMETRIC\tCHAMPION'S\tCHALLENGER'S\tREASON", func(c apitype.Challenger) string {
					v := "-"
					if c.Version > 0 {
						v = c.Strategy + "@" + strconv.Itoa(c.Version)
					}
					return fmt.Sprintf("%s\t%s\t%s\t%s@%d\t%s\t%s\t%.4g\t%.4g\t%s", c.ID, c.Deployment, c.State, c.Strategy, c.ChampionVersion, v, c.Metric,
						c.ChampionMetric, c.ChallengerMetric, oneLine(c.Reason, 80))
				})
			})
		},
	}
	addJSONFlag(list, &asJSON)
	var reason string
	decide := func(verb, short string, call func(ctx context.Context, r *remote, id, reason string) (apitype.Challenger, error)) *cobra.Command {
		c := &cobra.Command{
			Use:   verb + " ID",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withRemote(cmd, &o, func(ctx context.Context, r *remote) error {
					ch, err := call(ctx, r, args[0], reason)
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "challenger %s %s: %s@%d\n", ch.ID, ch.State, ch.Strategy, ch.Version)
					return nil
				})
			},
		}
		c.Flags().StringVar(&reason, "reason", "", "why (recorded)")
		return c
	}
	approve := decide("approve", "Promote a pending challenger's version to production (the registry records it)",
		func(ctx context.Context, r *remote, id, reason string) (apitype.Challenger, error) {
			return r.c.ApproveChallenger(ctx, id, reason)
		})
	reject := decide("reject", "Reject a pending challenger",
		func(ctx context.Context, r *remote, id, reason string) (apitype.Challenger, error) {
			return r.c.RejectChallenger(ctx, id, reason)
		})
	for _, c := range []*cobra.Command{list, approve, reject} {
		o.addFlags(c.Flags(), "the TradAI server (default $TRADAI_URL, else "+defaultRemote+")")
		cmd.AddCommand(c)
	}
	return cmd
}

// dash is s, or "-" when empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
