package images

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Tier is where a process sits in the deployment: the application tier
// (the API and web app, scaled for users), the function tier (jobs and
// deployments, scaled for work) and the platform tier (schema migrations,
// the paper venue: run once, or once per installation).
type Tier string

// The tiers an image's io.tradai.tier label names.
const (
	Application Tier = "application"
	Function    Tier = "function"
	Platform    Tier = "platform"
)

// TierOf is the tier of a process the tradai binary runs (its
// subcommands that are services or one-shot jobs); false for any other.
func TierOf(process string) (Tier, bool) {
	switch process {
	case "serve":
		return Application, true
	case "worker", "runner":
		return Function, true
	case "migrate", "sim":
		return Platform, true
	}
	return "", false
}

// ProcessesOf lists the processes a command line of the tradai binary
// runs (args without the binary itself: the subcommand, then its flags),
// flags that start a second process included: tradai serve runs backtest
// workers unless --workers 0, deployments unless --runner-max 0, and the
// simulator with --sim; tradai runner runs backtests with --workers N > 0.
func ProcessesOf(args []string) ([]string, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("no subcommand")
	}
	sub := args[0]
	if _, ok := TierOf(sub); !ok {
		return nil, fmt.Errorf("%q is not a tradai process (one of serve, worker, runner, migrate, sim)", sub)
	}
	flags := args[1:]
	procs := []string{sub}
	switch sub {
	case "serve":
		// serve's defaults: 2 workers, 100 deployments.
		if n, err := intFlag(flags, "workers", 2); err != nil {
			return nil, err
		} else if n > 0 {
			procs = append(procs, "worker")
		}
		if n, err := intFlag(flags, "runner-max", 100); err != nil {
			return nil, err
		} else if n > 0 {
			procs = append(procs, "runner")
		}
		if boolFlag(flags, "sim") {
			procs = append(procs, "sim")
		}
	case "runner":
		if n, err := intFlag(flags, "workers", 0); err != nil {
			return nil, err
		} else if n > 0 {
			procs = append(procs, "worker")
		}
	}
	return procs, nil
}

// flagValue finds --name VALUE or --name=VALUE in args, the last one
// winning as in pflag.
func flagValue(args []string, name string) (string, bool) {
	v, found := "", false
	for i, a := range args {
		switch {
		case a == "--"+name && i+1 < len(args):
			v, found = args[i+1], true
		case strings.HasPrefix(a, "--"+name+"="):
			v, found = strings.TrimPrefix(a, "--"+name+"="), true
		}
	}
	return v, found
}

func intFlag(args []string, name string, def int) (int, error) {
	v, ok := flagValue(args, name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("--%s %q: not a number", name, v)
	}
	return n, nil
}

func boolFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--"+name || a == "--"+name+"=true" {
			return true
		}
	}
	return false
}

// CheckTiers applies the tier rule to the command line args (subcommand
// and flags) an image runs: every process it starts must be one the image
// declares (Spec.Runs), and processes of two tiers run together only with a
// declared reason (Spec.Bundles, keyed by the sorted processes joined with
// "+").
func CheckTiers(s Spec, args []string) error {
	procs, err := ProcessesOf(args)
	if err != nil {
		return fmt.Errorf("image %s runs %q: %w", s.Name, args, err)
	}
	tiers := map[Tier]bool{}
	for _, p := range procs {
		if !slices.Contains(s.Runs, p) {
			return fmt.Errorf("image %s runs %q: the process %s is not one the image declares (%s)", s.Name, args, p, strings.Join(s.Runs, ", "))
		}
		t, _ := TierOf(p)
		tiers[t] = true
	}
	if len(tiers) < 2 {
		return nil
	}
	key := slices.Clone(procs)
	slices.Sort(key)
	if s.Bundles[strings.Join(key, "+")] != "" {
		return nil
	}
	return fmt.Errorf("image %s runs %q: that bundles processes of %d tiers (%s) without a declared reason", s.Name, args, len(tiers), strings.Join(key, ", "))
}
