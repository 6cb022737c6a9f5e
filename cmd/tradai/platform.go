package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/tenancy"
)

// dbOpts are the --home and --database flags of the platform commands.
type dbOpts struct {
	logger   func() (*slog.Logger, error)
	home     string
	database string
}

func (o *dbOpts) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.home, "home", "", "TradAI's home folder (default $TRADAI_HOME, else ~/.tradai)")
	f.StringVar(&o.database, "database", "", "database: postgres://… or an SQLite file (default $TRADAI_DATABASE, else <home>/tradai.db)")
}

// url is the database URL the flags name.
func (o *dbOpts) url() (string, error) {
	if o.database != "" {
		return o.database, nil
	}
	if v := os.Getenv("TRADAI_DATABASE"); v != "" {
		return v, nil
	}
	home, err := homeDir(o.home)
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "tradai.db"), nil
}

// needShared refuses an embedded database for a process tier that works
// beside others (tier, e.g. "worker"): with SQLite, tradai serve does that
// work (work, e.g. "the workers") itself.
func (o *dbOpts) needShared(tier, work string) error {
	u, err := o.url()
	if err != nil {
		return err
	}
	if !db.IsPostgres(u) {
		return fmt.Errorf("%s: needs a shared PostgreSQL database (--database postgres://… or $TRADAI_DATABASE); with SQLite, tradai serve runs %s itself", tier, work)
	}
	return nil
}

// homeDir is TradAI's home folder: flag, else $TRADAI_HOME, else ~/.tradai.
func homeDir(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if v := os.Getenv("TRADAI_HOME"); v != "" {
		return v, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the home folder for ~/.tradai (set --home or TRADAI_HOME): %w", err)
	}
	return filepath.Join(h, ".tradai"), nil
}

// open opens the database and brings its schema up to date.
func (o *dbOpts) open(ctx context.Context) (*db.DB, *slog.Logger, error) {
	log, err := o.logger()
	if err != nil {
		return nil, nil, err
	}
	u, err := o.url()
	if err != nil {
		return nil, nil, err
	}
	d, err := db.Open(ctx, u, log)
	if err != nil {
		return nil, nil, err
	}
	if err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, nil, err
	}
	return d, log, nil
}

// with runs do on the database the flags name (see open) and closes it.
func (o *dbOpts) with(ctx context.Context, do func(d *db.DB, log *slog.Logger) error) error {
	d, log, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	return do(d, log)
}

func newMigrateCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	o := &dbOpts{logger: logger}
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the database schema (TradAI's tables and the job queue's)",
		Long: `migrate applies every pending schema migration: TradAI's own and the job
queue's (River). It is safe to run again and from several processes at once;
the server runs it at start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.with(cmd.Context(), func(d *db.DB, _ *slog.Logger) error {
				v, err := d.SchemaVersion(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "database (%s) is at schema version %d\n", d.Dialect(), v)
				return nil
			})
		},
	}
	o.addFlags(cmd)
	return cmd
}

func newUsersCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Manage users"}
	o := &dbOpts{logger: logger}
	var tenant string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a user (and its tenant when new)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd.Context(), func(d *db.DB, log *slog.Logger) error {
				u, err := tenancy.New(d, nil, log).CreateUser(cmd.Context(), args[0], tenant)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "user %s created in tenant %s (id %s)\n", u.Name, tenant, u.ID)
				return nil
			})
		},
	}
	o.addFlags(create)
	create.Flags().StringVar(&tenant, "tenant", "default", "tenant the user belongs to (created when new)")
	cmd.AddCommand(create)
	return cmd
}

func newTokensCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Manage API tokens"}
	o := &dbOpts{logger: logger}
	var user string
	create := &cobra.Command{
		Use:   "create --user NAME",
		Short: "Create an API token for a user; it is printed once and cannot be shown again",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if user == "" {
				return errors.New("tokens create: --user is required")
			}
			return o.with(cmd.Context(), func(d *db.DB, log *slog.Logger) error {
				s := tenancy.New(d, nil, log)
				u, err := s.UserByName(cmd.Context(), user)
				if err != nil {
					return err
				}
				plain, tok, err := s.CreateToken(cmd.Context(), u.ID)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), plain)
				fmt.Fprintf(cmd.ErrOrStderr(), "token %s for %s created; copy it now, it is not stored and cannot be shown again\n", tok.ID, u.Name)
				return nil
			})
		},
	}
	o.addFlags(create)
	create.Flags().StringVar(&user, "user", "", "the user the token acts as")

	// userStore opens the database and finds --user.
	userStore := func(cmd *cobra.Command, what string) (*tenancy.Store, tenancy.User, func() error, error) {
		if user == "" {
			return nil, tenancy.User{}, nil, fmt.Errorf("tokens %s: --user is required", what)
		}
		d, log, err := o.open(cmd.Context())
		if err != nil {
			return nil, tenancy.User{}, nil, err
		}
		s := tenancy.New(d, nil, log)
		u, err := s.UserByName(cmd.Context(), user)
		if err != nil {
			d.Close()
			return nil, tenancy.User{}, nil, err
		}
		return s, u, d.Close, nil
	}
	list := &cobra.Command{
		Use:   "list --user NAME",
		Short: "List a user's API tokens (their first characters, when created and last used, whether revoked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, u, closeDB, err := userStore(cmd, "list")
			if err != nil {
				return err
			}
			defer closeDB()
			toks, err := s.Tokens(cmd.Context(), u.ID)
			if err != nil {
				return err
			}
			when := func(t time.Time) string {
				if t.IsZero() {
					return "-"
				}
				return t.UTC().Format("2006-01-02 15:04:05")
			}
			return writeTable(cmd.OutOrStdout(), "ID\tPREFIX\tCREATED\tLAST USED\tREVOKED", toks, func(t tenancy.Token) string {
				return fmt.Sprintf("%s\t%s…\t%s\t%s\t%s", t.ID, t.Prefix, when(t.Created), when(t.LastUse), when(t.Revoked))
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke --user NAME TOKEN_ID...",
		Short: "Revoke API tokens of a user's tenant: the next request with one is a 401",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, u, closeDB, err := userStore(cmd, "revoke")
			if err != nil {
				return err
			}
			defer closeDB()
			for _, id := range args {
				if err := s.RevokeToken(cmd.Context(), tenancy.Principal{Tenant: u.Tenant}, id); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "token %s revoked\n", id)
			}
			return nil
		},
	}
	for _, c := range []*cobra.Command{list, revoke} {
		o.addFlags(c)
		c.Flags().StringVar(&user, "user", "", "the user whose tokens these are")
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
