package main

import (
	"archive/tar"
	"bytes"
	"context"

	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/client"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/external"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/internal/registry"
	"github.com/tradai/tradai/internal/strategy"
	"github.com/tradai/tradai/internal/strategyref"
	"github.com/tradai/tradai/internal/tenancy"
)

// strategyRegistry is the registry the strategy commands talk to: a
// server's (*client.Client) or the local database's (localRegistry).
type strategyRegistry interface {
	PushStrategy(ctx context.Context, name string, archive []byte, o client.PushOptions) (apitype.StrategyVersion, error)
	StrategyVersions(ctx context.Context, name string) ([]apitype.StrategyVersion, error)
	StrategyVersion(ctx context.Context, name, version string) (apitype.StrategyVersion, error)
	DiffStrategy(ctx context.Context, name, from, to string) (apitype.StrategyDiff, error)
	PromoteStrategy(ctx context.Context, name, version string, req apitype.PromoteRequest) (apitype.StrategyVersion, error)
	RollbackStrategy(ctx context.Context, name string, req apitype.RollbackRequest) (apitype.StrategyVersion, error)
}

// registryOpts are the flags choosing the registry: --remote (or
// $TRADAI_URL) for a server's, else the local database's.
type registryOpts struct {
	remote remoteOpts
	local  dbOpts
	user   string
}

func (o *registryOpts) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.remote.url, "remote", "", "a TradAI server's URL (default $TRADAI_URL; without either, the local database in <home>)")
	f.StringVar(&o.remote.token, "token", "", "API token for --remote (default $TRADAI_TOKEN, else the file <home>/token)")
	f.StringVar(&o.local.home, "home", "", "TradAI's home folder (default $TRADAI_HOME, else ~/.tradai)")
	f.StringVar(&o.local.database, "database", "", "local mode: postgres://… or an SQLite file (default $TRADAI_DATABASE, else <home>/tradai.db)")
	f.StringVar(&o.user, "user", "admin", "local mode: the user the changes are recorded as")
}

// open returns the registry and a function releasing it.
func (o *registryOpts) open(cmd *cobra.Command) (strategyRegistry, func(), error) {
	r, _, done, err := openEither(cmd, o, func(rc *remote) strategyRegistry { return remoteRegistry{rc} },
		func(_ context.Context, _ *db.DB, _ *slog.Logger, l *localRegistry) (strategyRegistry, error) {
			return l, nil
		})
	return r, done, err
}

// openEither opens what o's flags name: with --remote (or $TRADAI_URL) a
// server's, made of its connection by remote; else the local database's,
// made by local of the database, its logger and the local registry (the
// database is closed when local fails). It returns a function explaining
// an error (the server's problem details) and one releasing what it
// opened.
func openEither[T any](cmd *cobra.Command, o *registryOpts, remote func(rc *remote) T,
	local func(ctx context.Context, d *db.DB, log *slog.Logger, l *localRegistry) (T, error)) (T, func(error) error, func(), error) {
	var none T
	if o.remote.url != "" || os.Getenv("TRADAI_URL") != "" {
		o.remote.home = o.local.home
		rc, err := o.remote.connect()
		if err != nil {
			return none, nil, nil, err
		}
		return remote(rc), rc.explain, func() {}, nil
	}
	ctx := cmd.Context()
	d, log, err := o.local.open(ctx)
	if err != nil {
		return none, nil, nil, err
	}
	l, err := o.openLocal(ctx, cmd.ErrOrStderr(), d, log)
	if err != nil {
		d.Close()
		return none, nil, nil, err
	}
	v, err := local(ctx, d, log, l)
	if err != nil {
		d.Close()
		return none, nil, nil, err
	}
	return v, func(err error) error { return err }, func() { d.Close() }, nil
}

// withEither runs do with what openEither opens, then explains do's error
// and releases what it opened.
func withEither[T any](cmd *cobra.Command, o *registryOpts, remote func(rc *remote) T,
	local func(ctx context.Context, d *db.DB, log *slog.Logger, l *localRegistry) (T, error), do func(ctx context.Context, v T) error) error {
	v, explain, done, err := openEither(cmd, o, remote, local)
	if err != nil {
		return err
	}
	defer done()
	return explain(do(cmd.Context(), v))
}

func (o *registryOpts) openLocal(ctx context.Context, stderr io.Writer, d *db.DB, log *slog.Logger) (*localRegistry, error) {
	home, err := homeDir(o.local.home)
	if err != nil {
		return nil, err
	}
	auth := tenancy.New(d, nil, log)
	if path, err := platform.Bootstrap(ctx, auth, home); err != nil {
		return nil, err
	} else if path != "" {
		fmt.Fprintf(stderr, "created user admin (tenant default); its API token is in %s\n", path)
	}
	u, err := auth.UserByName(ctx, o.user)
	if err != nil {
		return nil, fmt.Errorf("%w (create it with tradai users create %s, or give --user)", err, o.user)
	}
	// The user's own code, started on this machine for its spec, as a
	// local tradai backtest runs it.
	specs := strategyref.Specs{Options: strategyref.Options{External: external.Options{Log: log}}}
	reg, err := registry.New(registry.Config{DB: d, Dir: filepath.Join(home, "strategies"), Specs: specs, Log: log})
	if err != nil {
		return nil, err
	}
	return &localRegistry{reg: reg, p: tenancy.Principal{Tenant: u.Tenant, User: u.ID}}, nil
}

// localStrategies are the options a local command (backtest, strategy
// check) opens ref with: registry references — NAME@…, or a name that is
// no built-in when the local database exists — resolve in the local
// database as the user admin. done releases the database.
func localStrategies(ctx context.Context, ref string, stderr io.Writer, logger func() (*slog.Logger, error), log *slog.Logger) (opts strategyref.Options, done func(), err error) {
	opts = strategyref.Options{External: external.Options{Log: log}}
	done = func() {}
	ref = strings.TrimSpace(ref)
	if strategyref.IsFile(ref) {
		return opts, done, nil
	}
	o := registryOpts{local: dbOpts{logger: logger}, user: "admin"}
	if !strings.Contains(ref, "@") {
		if _, err := strategy.Lookup(ref); err == nil {
			return opts, done, nil
		}
		u, err := o.local.url()
		if err != nil || !db.IsPostgres(u) && !fileExists(strings.TrimPrefix(u, "sqlite://")) {
			return opts, done, nil // no local registry: the unknown name is told as such
		}
	}
	d, log, err := o.local.open(ctx)
	if err != nil {
		return opts, done, err
	}
	l, err := o.openLocal(ctx, stderr, d, log)
	if err != nil {
		d.Close()
		return opts, done, err
	}
	opts.Registry = l.reg.Tenant(l.p.Tenant)
	return opts, func() { d.Close() }, nil
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

type remoteRegistry struct{ *remote }

func (r remoteRegistry) PushStrategy(ctx context.Context, name string, archive []byte, o client.PushOptions) (apitype.StrategyVersion, error) {
	v, err := r.c.PushStrategy(ctx, name, archive, o)
	return v, r.explain(err)
}

func (r remoteRegistry) StrategyVersions(ctx context.Context, name string) ([]apitype.StrategyVersion, error) {
	v, err := r.c.StrategyVersions(ctx, name)
	return v, r.explain(err)
}

func (r remoteRegistry) StrategyVersion(ctx context.Context, name, version string) (apitype.StrategyVersion, error) {
	v, err := r.c.StrategyVersion(ctx, name, version)
	return v, r.explain(err)
}

func (r remoteRegistry) DiffStrategy(ctx context.Context, name, from, to string) (apitype.StrategyDiff, error) {
	d, err := r.c.DiffStrategy(ctx, name, from, to)
	return d, r.explain(err)
}

func (r remoteRegistry) PromoteStrategy(ctx context.Context, name, version string, req apitype.PromoteRequest) (apitype.StrategyVersion, error) {
	v, err := r.c.PromoteStrategy(ctx, name, version, req)
	return v, r.explain(err)
}

func (r remoteRegistry) RollbackStrategy(ctx context.Context, name string, req apitype.RollbackRequest) (apitype.StrategyVersion, error) {
	v, err := r.c.RollbackStrategy(ctx, name, req)
	return v, r.explain(err)
}

// localRegistry is the registry in the local database, acting as one user.
type localRegistry struct {
	reg *registry.Registry
	p   tenancy.Principal
}

func (l *localRegistry) PushStrategy(ctx context.Context, name string, archive []byte, o client.PushOptions) (apitype.StrategyVersion, error) {
	files, err := registry.ReadArchive(archive, l.reg.Limits())
	if err != nil {
		return apitype.StrategyVersion{}, err
	}
	v, created, err := l.reg.Push(ctx, l.p, name, files, registry.PushOptions{Message: o.Message, Tags: o.Tags, Runtime: o.Runtime})
	out := api.VersionView(v)
	out.Created = created
	return out, err
}

func (l *localRegistry) StrategyVersions(ctx context.Context, name string) ([]apitype.StrategyVersion, error) {
	vs, err := l.reg.Versions(ctx, l.p, name)
	var out []apitype.StrategyVersion
	for _, v := range vs {
		out = append(out, api.VersionView(v))
	}
	return out, err
}

func (l *localRegistry) StrategyVersion(ctx context.Context, name, version string) (apitype.StrategyVersion, error) {
	v, err := l.reg.Get(ctx, l.p, name+"@"+version)
	return api.VersionView(v), err
}

func (l *localRegistry) DiffStrategy(ctx context.Context, name, from, to string) (apitype.StrategyDiff, error) {
	ref := func(v string) string {
		if strings.Contains(v, "@") {
			return v
		}
		return name + "@" + v
	}
	d, err := l.reg.Diff(ctx, l.p, ref(from), ref(to))
	return apitype.StrategyDiff{From: d.From.Ref(), To: d.To.Ref(), Code: d.Code, Spec: d.Spec}, err
}

func (l *localRegistry) PromoteStrategy(ctx context.Context, name, version string, req apitype.PromoteRequest) (apitype.StrategyVersion, error) {
	v, err := l.reg.Promote(ctx, l.p, name+"@"+version, registry.Stage(req.Stage), req.Reason)
	return api.VersionView(v), err
}

func (l *localRegistry) RollbackStrategy(ctx context.Context, name string, req apitype.RollbackRequest) (apitype.StrategyVersion, error) {
	v, err := l.reg.Rollback(ctx, l.p, name, req.Reason)
	return api.VersionView(v), err
}

// splitRef reads NAME@VERSION (VERSION: a number, production, staging or
// latest; NAME alone is the latest).
func splitRef(ref string) (name, version string, err error) {
	r, err := registry.ParseRef(ref)
	if err != nil {
		return "", "", err
	}
	switch {
	case r.Number > 0:
		return r.Name, strconv.Itoa(r.Number), nil
	case r.Stage != "":
		return r.Name, string(r.Stage), nil
	}
	return r.Name, "latest", nil
}

func addRegistryCmds(parent *cobra.Command, logger func() (*slog.Logger, error)) {
	for _, c := range []func(*registryOpts) *cobra.Command{newStrategyPushCmd, newStrategyVersionsCmd, newStrategyShowCmd, newStrategyDiffCmd,
		newStrategyPromoteCmd, newStrategyRollbackCmd} {
		parent.AddCommand(c(&registryOpts{local: dbOpts{logger: logger}}))
	}
}

func newStrategyPushCmd(o *registryOpts) *cobra.Command {
	var (
		name, message, runtime string
		tags                   map[string]string
	)
	cmd := &cobra.Command{
		Use:   "push FILE|DIR --name NAME",
		Short: "Store a strategy's code as a new version in the strategy registry",
		Long: `push stores a strategy — a Python file, or a folder with strategy.py (or
one top-level .py file) and the modules it imports — as the next version of
NAME: the files in a canonical archive named by its SHA-256, the spec the
code declares (it is started once for it), who pushed it, when, the message
and tags. Pushing identical content again answers the existing version.
Hidden files and __pycache__ folders of a DIR are left out.

Without --remote (or $TRADAI_URL) the registry is the local database in
<home>; with it, the server's.`,
		Example: `  tradai strategy push examples/strategies/python/sma_cross.py --name mysma --message "first cut"
  tradai strategy push ./mystrat --name mystrat --tag team=quant --remote http://127.0.0.1:8080`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			archive, err := packPath(args[0])
			if err != nil {
				return err
			}
			reg, done, err := o.open(cmd)
			if err != nil {
				return err
			}
			defer done()
			v, err := reg.PushStrategy(cmd.Context(), name, archive, client.PushOptions{Message: message, Tags: tags, Runtime: runtime})
			if err != nil {
				return err
			}
			what := "pushed"
			if !v.Created {
				what = "unchanged: the same code is already"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s (sha256 %s, %s, %d files, %d bytes; spec %s %s, %d parameters)\n",
				what, v.Ref, v.SHA256[:12], v.Runtime, v.Files, v.Size, v.Spec.Name, v.Spec.Timeframe, len(v.Spec.Params))
			return nil
		},
	}
	o.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "the strategy's name in the registry (letters, digits, _ and -)")
	f.StringVar(&message, "message", "", "what changed")
	f.StringVar(&runtime, "runtime", "", "python or wasm (default: told by the file)")
	f.StringToStringVar(&tags, "tag", nil, "a label key=value (repeat the flag for more)")
	cmd.MarkFlagRequired("name")
	return cmd
}

// packPath reads a file or a folder into a tar archive of its files.
func packPath(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("strategy %s: %w", path, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name, file string, mode fs.FileMode) error {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(mode.Perm()), Size: int64(len(data))}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	}
	if !st.IsDir() {
		if err := add(filepath.Base(path), path, st.Mode()); err != nil {
			return nil, fmt.Errorf("strategy %s: %w", path, err)
		}
	} else {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(path, p)
			if rel == "." {
				return nil
			}
			base := d.Name()
			if strings.HasPrefix(base, ".") || base == "__pycache__" {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			switch {
			case d.IsDir():
				return nil
			case d.Type()&fs.ModeSymlink != 0:
				return fmt.Errorf("%s is a symbolic link: the registry stores regular files only", rel)
			case !d.Type().IsRegular():
				return fmt.Errorf("%s is not a regular file", rel)
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return add(filepath.ToSlash(rel), p, info.Mode())
		})
		if err != nil {
			return nil, fmt.Errorf("strategy %s: %w", path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func newStrategyVersionsCmd(o *registryOpts) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "versions NAME",
		Short:   "List a strategy's versions, oldest first",
		Example: `  tradai strategy versions mysma`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, done, err := o.open(cmd)
			if err != nil {
				return err
			}
			defer done()
			vs, err := reg.StrategyVersions(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			w := newTable(cmd.OutOrStdout())
			fmt.Fprintln(w, "VERSION\tSTAGE\tCREATED\tSHA256\tRUNTIME\tMESSAGE")
			for _, v := range vs {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", v.Version, v.Stage, fmtTime(v.CreatedAt), v.SHA256[:12], v.Runtime, oneLine(v.Message, 60))
			}
			return w.Flush()
		},
	}
	o.addFlags(cmd)
	return cmd
}

func newStrategyShowCmd(o *registryOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show NAME[@VERSION]",
		Short: "Show a version: hash, stage, author, message, tags and its spec",
		Example: `  tradai strategy show mysma@1
  tradai strategy show mysma@production --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, version, err := splitRef(args[0])
			if err != nil {
				return err
			}
			reg, done, err := o.open(cmd)
			if err != nil {
				return err
			}
			defer done()
			v, err := reg.StrategyVersion(cmd.Context(), name, version)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), v)
			}
			return writeVersion(cmd.OutOrStdout(), v)
		},
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the version as JSON")
	return cmd
}

func writeVersion(out io.Writer, v apitype.StrategyVersion) error {
	w := newTable(out)
	fmt.Fprintf(w, "Version\t%s\n", v.Ref)
	fmt.Fprintf(w, "Stage\t%s\n", v.Stage)
	fmt.Fprintf(w, "SHA-256\t%s\n", v.SHA256)
	fmt.Fprintf(w, "Runtime\t%s (%s)\n", v.Runtime, v.Entry)
	fmt.Fprintf(w, "Files\t%d (%d bytes)\n", v.Files, v.Size)
	fmt.Fprintf(w, "Created\t%s by %s\n", fmtTime(v.CreatedAt), orDash(v.Author))
	if v.Message != "" {
		fmt.Fprintf(w, "Message\t%s\n", v.Message)
	}
	if len(v.Tags) > 0 {
		var tags []string
		for _, k := range slices.Sorted(maps.Keys(v.Tags)) {
			tags = append(tags, k+"="+v.Tags[k])
		}
		fmt.Fprintf(w, "Tags\t%s\n", strings.Join(tags, ", "))
	}
	fmt.Fprintf(w, "Spec\t%s, timeframe %s, %d startup candles, can short %t\n", v.Spec.Name, v.Spec.Timeframe, v.Spec.StartupCandles, v.Spec.CanShort)
	if len(v.Spec.Params) > 0 {
		fmt.Fprintln(w, "\nPARAMETER\tKIND\tDEFAULT\tRANGE")
		for _, p := range v.Spec.Params {
			rng := "-"
			switch {
			case len(p.Choices) > 0:
				rng = strings.Join(p.Choices, ", ")
			case p.Min != 0 || p.Max != 0:
				rng = fmt.Sprintf("%g … %g", p.Min, p.Max)
			}
			fmt.Fprintf(w, "%s\t%s\t%v\t%s\n", p.Name, p.Kind, p.Default, rng)
		}
	}
	return w.Flush()
}

func newStrategyDiffCmd(o *registryOpts) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "diff NAME@A NAME@B",
		Short:   "Show what changed between two versions: the code and the spec",
		Example: `  tradai strategy diff mysma@1 mysma@2`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, from, err := splitRef(args[0])
			if err != nil {
				return err
			}
			if _, _, err := splitRef(args[1]); err != nil {
				return err
			}
			reg, done, err := o.open(cmd)
			if err != nil {
				return err
			}
			defer done()
			d, err := reg.DiffStrategy(cmd.Context(), name, from, args[1])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if d.Code == "" && d.Spec == "" {
				_, err := fmt.Fprintf(out, "%s and %s hold the same code and spec\n", d.From, d.To)
				return err
			}
			if d.Code != "" {
				fmt.Fprint(out, d.Code)
			} else {
				fmt.Fprintln(out, "same code")
			}
			if d.Spec != "" {
				fmt.Fprint(out, d.Spec)
			} else {
				fmt.Fprintln(out, "same spec")
			}
			return nil
		},
	}
	o.addFlags(cmd)
	return cmd
}

func newStrategyPromoteCmd(o *registryOpts) *cobra.Command {
	var stage, reason string
	cmd := &cobra.Command{
		Use:   "promote NAME@VERSION --stage STAGE --reason WHY",
		Short: "Move a version to a stage (none, staging, production, archived)",
		Long: `promote moves a version to a stage, recorded with who and why. At most one
version of a name is in production: promoting one archives the previous.`,
		Example: `  tradai strategy promote mysma@2 --stage production --reason "beat @1 on 2024 data"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, version, err := splitRef(args[0])
			if err != nil {
				return err
			}
			if _, err := registry.ParseStage(stage); err != nil {
				return err
			}
			reg, done, err := o.open(cmd)
			if err != nil {
				return err
			}
			defer done()
			v, err := reg.PromoteStrategy(cmd.Context(), name, version, apitype.PromoteRequest{Stage: stage, Reason: reason})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s is now in %s\n", v.Ref, v.Stage)
			return err
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&stage, "stage", "", "none, staging, production or archived")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	cmd.MarkFlagRequired("stage")
	return cmd
}

func newStrategyRollbackCmd(o *registryOpts) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:     "rollback NAME",
		Short:   "Put the previous production version back in production (the current one is archived)",
		Example: `  tradai strategy rollback mysma --reason "@2 loses money live"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, done, err := o.open(cmd)
			if err != nil {
				return err
			}
			defer done()
			v, err := reg.RollbackStrategy(cmd.Context(), args[0], apitype.RollbackRequest{Reason: reason})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s is in production again\n", v.Ref)
			return err
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	return cmd
}
