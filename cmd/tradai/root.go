package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/config"
)

// datadirHelp is the help of every --datadir flag; the rule it refers to
// is stated once, in the root command's help.
const datadirHelp = "market data folder (default: the config's datadir, else " + config.DefaultDatadir + "; see tradai --help)"

// errSilent marks an error that has already been reported.
var errSilent = errors.New("already reported")

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	var logLevel string
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
	logger := func() (*slog.Logger, error) {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(strings.ToUpper(logLevel))); err != nil {
			return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)
		}
		return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})), nil
	}
	root.AddCommand(newBacktestCmd(logger), newHyperoptCmd(logger), newStrategiesCmd(), newDataCmd(logger))
	root.AddCommand(newWalkforwardCmd(logger))
	root.AddCommand(newStrategyCmd(logger))
	root.AddCommand(newMigrateCmd(logger), newUsersCmd(logger), newTokensCmd(logger))
	root.AddCommand(newServeCmd(logger), newWorkerCmd(logger), newRunnerCmd(logger))
	root.AddCommand(newDeployCmd(logger))
	root.AddCommand(newAccountsCmd(logger))
	root.AddCommand(newRunsCmd())
	root.AddCommand(newStudiesCmd(logger))
	root.AddCommand(newSimCmd(logger))
	return root
}
