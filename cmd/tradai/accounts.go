package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/tradai/tradai/internal/accounts"
	"github.com/tradai/tradai/internal/api"
	"github.com/tradai/tradai/internal/api/apitype"
	"github.com/tradai/tradai/internal/atomicfile"
	"github.com/tradai/tradai/internal/db"
	"github.com/tradai/tradai/internal/secrets"
	"github.com/tradai/tradai/internal/tenancy"
)

// venueAccounts is what the accounts commands call: a server's
// (*client.Client) or the local database's (localAccounts).
type venueAccounts interface {
	AddAccount(ctx context.Context, req apitype.AccountRequest) (apitype.Account, error)
	Accounts(ctx context.Context) ([]apitype.Account, error)
	Account(ctx context.Context, ref string) (apitype.Account, error)
	RemoveAccount(ctx context.Context, ref string) (apitype.Account, error)
	TestAccount(ctx context.Context, ref string) (apitype.AccountTest, error)
}

// accountsOpts are the flags choosing where accounts live (--remote or the
// local database) and, locally, the key-encryption key.
type accountsOpts struct {
	deployOpts
	kekFile string
}

func (o *accountsOpts) addFlags(cmd *cobra.Command) {
	o.deployOpts.addFlags(cmd)
	cmd.Flags().StringVar(&o.kekFile, "kek-file", "", "local mode: the key-encryption key's file (default $"+secrets.EnvKEK+"; see docs/operations.md)")
}

// kek is the local key-encryption key, or nil when none is given (listing
// and removing need none).
func (o *accountsOpts) kek() (*secrets.KEK, error) {
	k, err := secrets.LoadKEK(o.kekFile, os.Getenv)
	if errors.Is(err, secrets.ErrNoKEK) {
		return nil, nil
	}
	return k, err
}

func (o *accountsOpts) with(cmd *cobra.Command, do func(ctx context.Context, a venueAccounts) error) error {
	return withEither(cmd, &o.registryOpts, func(rc *remote) venueAccounts { return rc.c },
		func(_ context.Context, d *db.DB, log *slog.Logger, l *localRegistry) (venueAccounts, error) {
			kek, err := o.kek()
			if err != nil {
				return nil, err
			}
			store, err := accounts.New(accounts.Config{DB: d, KEK: kek, Log: log})
			if err != nil {
				return nil, err
			}
			ops, err := api.NewAccounts(store, o.localVenues(d, store, log), log)
			if err != nil {
				return nil, err
			}
			return localAccounts{ops: ops, p: l.p}, nil
		}, do)
}

// localAccounts are the accounts of the local database, as one user.
type localAccounts struct {
	ops *api.Accounts
	p   tenancy.Principal
}

func (l localAccounts) AddAccount(ctx context.Context, req apitype.AccountRequest) (apitype.Account, error) {
	return l.ops.Add(ctx, l.p, req)
}

func (l localAccounts) Accounts(ctx context.Context) ([]apitype.Account, error) {
	v, err := l.ops.List(ctx, l.p)
	return v.Accounts, err
}

func (l localAccounts) Account(ctx context.Context, ref string) (apitype.Account, error) {
	return l.ops.Get(ctx, l.p, ref)
}

func (l localAccounts) RemoveAccount(ctx context.Context, ref string) (apitype.Account, error) {
	return l.ops.Remove(ctx, l.p, ref)
}

func (l localAccounts) TestAccount(ctx context.Context, ref string) (apitype.AccountTest, error) {
	return l.ops.Test(ctx, l.p, ref)
}

func newAccountsCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "accounts",
		Short: "Venue accounts: the API keys live deployments trade with, sealed at rest",
		Long: `Venue accounts hold the API key and secret of an account at a venue (binance, alpaca,
hyperliquid, or sim: the platform's simulator). They are sealed at rest with the
key-encryption key (--kek-file or $TRADAI_KEK on the server and runners; docs/operations.md),
never shown again, never logged and never given to a strategy. A live deployment names one:
tradai deploy create --mode live --account NAME. Hyperliquid: the API key is the account's
address (0x…), the secret an API wallet's private key (never the account's own key).

Without --remote (or $TRADAI_URL) the commands work on the local database as --user.
See docs/live.md.`,
	}
	for _, c := range []func(*accountsOpts) *cobra.Command{newAccountsAddCmd, newAccountsListCmd, newAccountsShowCmd, newAccountsRemoveCmd, newAccountsTestCmd} {
		o := &accountsOpts{deployOpts: deployOpts{registryOpts: registryOpts{local: dbOpts{logger: logger}}}}
		sub := c(o)
		o.addFlags(sub)
		cmd.AddCommand(sub)
	}
	cmd.AddCommand(newAccountsRotateCmd(logger), newAccountsNewKEKCmd())
	return cmd
}

func newAccountsAddCmd(o *accountsOpts) *cobra.Command {
	var (
		req    apitype.AccountRequest
		from   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "add --venue binance|alpaca|hyperliquid|sim --name NAME [--from FILE]",
		Short: "Store an account's API key and secret (read from standard input or a file, never from flags)",
		Long: `Reads the API key from the first line and the secret from the second line of standard
input, or of --from FILE. They are never taken as flags or arguments: those land in shell
history and in the process list. The key is shown once as its fingerprint (the first 8 hex
digits of its SHA-256). Make the key without withdrawals: tradai accounts test refuses one
that can withdraw.`,
		Example: `  tradai accounts add --venue binance --name main --from ~/binance.key   # two lines: key, secret
  printf '%s\n%s\n' "$KEY" "$SECRET" | tradai accounts add --venue sim --name live1 --remote http://tradai:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Venue == "" || req.Name == "" {
				return errors.New("accounts add: --venue and --name are required")
			}
			in := cmd.InOrStdin()
			if from != "" && from != "-" {
				f, err := os.Open(from)
				if err != nil {
					return fmt.Errorf("accounts add: %w", err)
				}
				defer f.Close()
				in = f
			} else if f, ok := in.(*os.File); ok {
				if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
					fmt.Fprintln(cmd.ErrOrStderr(), "paste the API key, Enter, the secret, Enter (it is read, not shown back):")
				}
			}
			c, err := accounts.ReadCredentials(in)
			if err != nil {
				return fmt.Errorf("accounts add: %w", err)
			}
			req.APIKey, req.Secret = c.APIKey, c.Secret
			return o.with(cmd, func(ctx context.Context, a venueAccounts) error {
				acc, err := a.AddAccount(ctx, req)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), acc)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "account %s added (%s): %s, key fingerprint %s\n", acc.Name, acc.ID, acc.Venue, acc.Fingerprint)
				fmt.Fprintf(cmd.ErrOrStderr(), "check it at the venue with: tradai accounts test %s\n", acc.Name)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Venue, "venue", "", "binance, alpaca, hyperliquid or sim")
	f.StringVar(&req.Name, "name", "", "your name for the account (letters, digits, '.', '_', '-')")
	f.StringVar(&from, "from", "", "a file holding the key (first line) and the secret (second line); default standard input")
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func printAccounts(w io.Writer, l []apitype.Account) error {
	return writeTable(w, "NAME\tVENUE\tFINGERPRINT\tID\tCREATED", l, func(a apitype.Account) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", a.Name, a.Venue, a.Fingerprint, a.ID, a.CreatedAt.Format("2006-01-02 15:04"))
	})
}

func newAccountsListCmd(o *accountsOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Your venue accounts (names, venues, key fingerprints)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.with(cmd, func(ctx context.Context, a venueAccounts) error {
				l, err := a.Accounts(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), apitype.AccountList{Accounts: l})
				}
				return printAccounts(cmd.OutOrStdout(), l)
			})
		},
	}
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func newAccountsShowCmd(o *accountsOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show NAME|ID",
		Short: "One venue account (never its key or secret)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, a venueAccounts) error {
				acc, err := a.Account(ctx, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), acc)
				}
				return printAccounts(cmd.OutOrStdout(), []apitype.Account{acc})
			})
		},
	}
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func newAccountsRemoveCmd(o *accountsOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME|ID",
		Short: "Remove a venue account and its sealed credentials (live deployments trading with it fail)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, a venueAccounts) error {
				acc, err := a.RemoveAccount(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "account %s (%s) removed\n", acc.Name, acc.ID)
				return nil
			})
		},
	}
}

func newAccountsTestCmd(o *accountsOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "test NAME|ID",
		Short: "Check the key at its venue: it works, may trade, and may NOT withdraw",
		Long: `Binance and sim accounts: the key works (GET /api/v3/account), may trade (canTrade) and may
not withdraw (GET /sapi/v1/account/apiRestrictions). A key that can withdraw is refused: make
one without withdrawals. Hyperliquid accounts: the API wallet (the stored private key) must be
an agent the stored account address approved (the venue's userRole); it can trade and cannot
withdraw, and the answer names its address. Alpaca accounts cannot be tested yet (its adapter
comes later). Exits non-zero unless the key passed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, a venueAccounts) error {
				r, err := a.TestAccount(ctx, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					if err := printJSON(cmd.OutOrStdout(), r); err != nil {
						return err
					}
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "account %s (%s, key %s): %s\n", r.Account.Name, r.Account.Venue, r.Account.Fingerprint, r.Message)
				}
				if !r.OK {
					return fmt.Errorf("accounts test %s: the key did not pass", args[0])
				}
				return nil
			})
		},
	}
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func newAccountsRotateCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	o := dbOpts{logger: logger}
	var oldFile, newFile string
	cmd := &cobra.Command{
		Use:   "rotate-key --new-kek-file NEW [--old-kek-file OLD]",
		Short: "Re-wrap every account's data key under a new key-encryption key (operator; the database directly)",
		Long: `Re-encrypts the data key of every tenant's account from the old key-encryption key
(--old-kek-file, default $TRADAI_KEK) to the new one, in one transaction: all move or none.
Run it again after an interruption: accounts already under the new key are left alone.
Then give the new key to the server and the runners (--kek-file or $TRADAI_KEK) and restart
them; the old key is needed no more. Make a new key with: tradai accounts new-kek FILE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if newFile == "" {
				return errors.New("accounts rotate-key: --new-kek-file is required")
			}
			old, err := secrets.LoadKEK(oldFile, os.Getenv)
			if err != nil {
				return fmt.Errorf("accounts rotate-key: the old key: %w", err)
			}
			next, err := secrets.LoadKEK(newFile, nil)
			if err != nil {
				return fmt.Errorf("accounts rotate-key: the new key: %w", err)
			}
			ctx := cmd.Context()
			return o.with(ctx, func(d *db.DB, log *slog.Logger) error {
				store, err := accounts.New(accounts.Config{DB: d, KEK: next, Log: log})
				if err != nil {
					return err
				}
				r, err := store.Rotate(ctx, old, next)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d account(s) re-wrapped from %s to %s (%d already under it); give the new key to the server and runners and restart them\n",
					r.Rewrapped, old, next, r.Already)
				return nil
			})
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&oldFile, "old-kek-file", "", "the current key-encryption key's file (default $"+secrets.EnvKEK+")")
	cmd.Flags().StringVar(&newFile, "new-kek-file", "", "the new key-encryption key's file")
	return cmd
}

func newAccountsNewKEKCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "new-kek FILE",
		Short: "Write a new random key-encryption key to FILE (mode 0600; refuses to overwrite)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := os.Stat(args[0]); err == nil {
				return fmt.Errorf("accounts new-kek: %s exists: a key-encryption key is never overwritten (it would lose every account sealed under it)", args[0])
			}
			text := secrets.GenerateKEK()
			if err := atomicfile.WriteMode(args[0], 0o600, func(w io.Writer) error {
				_, err := io.WriteString(w, text+"\n")
				return err
			}); err != nil {
				return fmt.Errorf("accounts new-kek: %w", err)
			}
			k, _ := secrets.ParseKEK(text)
			fmt.Fprintf(cmd.OutOrStdout(), "key-encryption key %s written to %s\n", k, args[0])
			return nil
		},
	}
}
