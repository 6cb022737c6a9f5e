// Command tradai is TradAI's single binary: backtests today, and the
// platform's server, workers and runners as they arrive.
package main

import (
	"github.com/tradai/tradai/internal/sandbox"

	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sandbox.Main() // a strategy sandbox's init runs here, before anything else
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := newRootCmd(os.Stdout, os.Stderr)
	args := expandListArgs(os.Args[1:])
	if c, _, err := root.Find(args); err == nil && c.Name() == "backtest" {
		ctx = oneShotGC(ctx, os.Getenv) // this process only, not the tests' runs of the command
	}
	ctx = withStudyMemory(ctx, os.Getenv)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		if !errors.Is(err, errSilent) {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		os.Exit(1)
	}
}
