package main

import (
	"errors"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/telemetry"
)

// datadirHelp is the help of every --datadir flag; the rule it refers to
// is stated once, in the root command's help.
const datadirHelp = "market data folder (default: the config's datadir, else " + config.DefaultDatadir + "; see tradai --help)"

// errSilent marks an error that has already been reported.
var errSilent = errors.New("already reported")

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	var logLevel, logFormat string
	root := &cobra.Command{
		Use:   "tradai",
		Short: "TradAI: backtest, optimize and run trading strategies",
		Long: `TradAI: backtest, optimize and run trading strategies.

Market data: every command that reads or stores candles (backtest, strategy
check, data, serve, worker, sim) uses the folder --datadir names, else the
config's "datadir" where the command takes a config, else ` + config.DefaultDatadir + `
in the current folder (Freqtrade's layout, so a Freqtrade user_data folder
works as it is). Run the server from the folder you download into, or pass
it the same --datadir.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&logFormat, "log-format", "text", "log format on standard error: text (key=value) or json (one object a line)")
	logger := func() (*slog.Logger, error) { return telemetry.Logger(stderr, logFormat, logLevel) }
	root.PersistentFlags().String("otlp-endpoint", os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
		"serve, worker and runner export their traces to this OpenTelemetry collector's OTLP/HTTP base URL, e.g. http://collector:4318 (default $OTEL_EXPORTER_OTLP_ENDPOINT; off when empty)")
	root.AddCommand(newBacktestCmd(logger), newHyperoptCmd(logger), newStrategiesCmd(), newDataCmd(logger))
	root.AddCommand(newWalkforwardCmd(logger))
	root.AddCommand(newStrategyCmd(logger))
	root.AddCommand(newMigrateCmd(logger), newUsersCmd(logger), newTokensCmd(logger))
	root.AddCommand(newServeCmd(logger), newWorkerCmd(logger), newRunnerCmd(logger))
	root.AddCommand(newDeployCmd(logger))
	root.AddCommand(newAccountsCmd(logger))
	root.AddCommand(newRunsCmd())
	root.AddCommand(newStudiesCmd(logger))
	root.AddCommand(newSchedulesCmd())
	root.AddCommand(newChallengersCmd())
	root.AddCommand(newSimCmd(logger))
	return root
}
