package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"github.com/tradai/tradai/internal/backtest"
	"github.com/tradai/tradai/internal/config"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/objstore/s3store"
	"github.com/tradai/tradai/internal/platform"
	"github.com/tradai/tradai/sdk"
)

// openBucket opens the S3-compatible store the URL of --flag names, with
// the keys of the credentials file creds (else the AWS environment
// variables): --artifact-store and --data-store alike.
func openBucket(flag, rawURL, creds string) (*s3store.Store, error) {
	st, err := s3store.Open(rawURL, creds, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return st, nil
}

// dataStoreFlags are --data-store and --data-store-credentials: the bucket
// the market data folder (--datadir) is a cache of.
type dataStoreFlags struct {
	url, creds string
}

func (d *dataStoreFlags) addFlags(f *pflag.FlagSet) {
	f.StringVar(&d.url, "data-store", "", "an S3-compatible bucket holding the market data, s3://BUCKET/PREFIX?endpoint=HOST:PORT&region=REGION&secure=false: --datadir becomes its local cache (downloads and imports go to both; reads fetch the bucket's newer copy); empty: --datadir alone (docs/operations.md, Storage)")
	f.StringVar(&d.creds, "data-store-credentials", "", "AWS shared credentials file holding the --data-store keys (profile $AWS_PROFILE, else default; none: $"+s3store.EnvAccessKey+" and $"+s3store.EnvSecretKey+")")
}

// options returns the market store options the flags give: the bucket as
// the data folder's Remote, or none.
func (d *dataStoreFlags) options(log *slog.Logger) (market.Options, error) {
	if d.url == "" {
		if d.creds != "" {
			return market.Options{}, errors.New("--data-store-credentials is given without --data-store")
		}
		return market.Options{}, nil
	}
	st, err := openBucket("data-store", d.url, d.creds)
	if err != nil {
		return market.Options{}, err
	}
	if log != nil {
		log.Info("the market data folder is a cache of a bucket", "data_store", st.Location())
	}
	return market.Options{Remote: platform.DataBucket(st)}, nil
}

// pullData brings every series a backtest of cfg reads from the
// --data-store bucket into cfg's data folder (backtest.Plan.Pull), for a
// command whose backtest opens the folder itself.
func pullData(ctx context.Context, d *dataStoreFlags, cfg *config.Config, spec sdk.Spec, log *slog.Logger) error {
	mopts, err := d.options(log)
	if err != nil || mopts.Remote == nil {
		return err
	}
	plan, err := backtest.NewPlan(cfg, spec)
	if err != nil {
		return err
	}
	return plan.Pull(ctx, mopts, log)
}
