package platform

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/internal/objstore"
)

// DataBucket is an object store as the Remote of a market data folder
// (--data-store): a missing object is market.ErrNotFound.
func DataBucket(st objstore.Store) market.Remote { return dataBucket{st} }

type dataBucket struct{ objstore.Store }

func (b dataBucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := b.Store.Get(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", market.ErrNotFound, err)
	}
	return rc, err
}
