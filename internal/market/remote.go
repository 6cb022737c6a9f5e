package market

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tradai/tradai/internal/atomicfile"
	"github.com/tradai/tradai/internal/clock"
)

// Remote is an object store (an S3 bucket: objstore.Store satisfies it)
// that a [Store]'s data directory is a cache of. A series file is kept
// under "data/" followed by its path in the data directory
// ("data/binance/BTC_USDT-5m.feather"), and each exchange's index under
// "data/EXCHANGE/.tradai-index.json", in the data directory's index format.
type Remote interface {
	// Put stores size bytes read from r under key; sha256 is their hex
	// SHA-256, checked by the store.
	Put(ctx context.Context, key string, r io.Reader, size int64, sha256 string) error
	// Get returns the object; reading it to the end fails unless its
	// bytes are those Put stored. The error wraps [ErrNotFound] when no
	// object has the key.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Location names the store in messages ("s3://bucket/prefix/").
	Location() string
}

// DefaultIndexTTL is how long a store trusts the remote indexes it read
// before reading them again.
const DefaultIndexTTL = 10 * time.Second

// remoteState is a store's link to its Remote: the indexes read from it,
// each kept for ttl on the clock.
type remoteState struct {
	r   Remote
	clk clock.Clock
	ttl time.Duration

	mu        sync.Mutex
	indexes   map[string]*cached[map[string]Series] // per exchange
	exchanges cached[[]string]                      // the bucket's list of exchanges
}

// cached is what a read of the bucket answered, and when; read false
// until there was one.
type cached[T any] struct {
	read bool
	at   time.Time
	val  T
	err  error
}

// readCached returns c's answer when it is younger than rs's TTL and
// fresh is false, a failure too, so that a bucket that is down costs one
// wait, not one per question. Else it asks read and keeps its answer in c
// unless ctx ended: a cancelled read says nothing about the bucket.
func readCached[T any](ctx context.Context, rs *remoteState, c *cached[T], fresh bool, read func(context.Context) (T, error)) (T, error) {
	now := rs.clk.Now()
	rs.mu.Lock()
	got := *c
	rs.mu.Unlock()
	if got.read && !fresh && now.Sub(got.at) < rs.ttl {
		return got.val, got.err
	}
	val, err := read(ctx)
	if ctx.Err() == nil {
		rs.mu.Lock()
		*c = cached[T]{read: true, at: now, val: val, err: err}
		rs.mu.Unlock()
	}
	return val, err
}

// remoteKey is the object key of the file at rel (relative to the data
// directory, forward slashes).
func remoteKey(rel string) string { return "data/" + rel }

func remoteIndexKey(exchange string) string { return "data/" + exchange + "/" + indexFile }

// remoteExchangesKey is the bucket's list of the exchanges it holds series
// of (an object store cannot be asked for its folders here), so that a
// listing of every exchange finds those this data directory has no folder
// of yet.
const remoteExchangesKey = "data/.tradai-exchanges.json"

// exchangesDoc is the form of the bucket's list of exchanges.
type exchangesDoc struct {
	Version   int      `json:"version"`
	Exchanges []string `json:"exchanges"`
}

// listedExchanges returns the exchanges the bucket lists, through the
// cache (readCached). A bucket without the list (written before it was
// kept) lists none.
func (rs *remoteState) listedExchanges(ctx context.Context, fresh bool) ([]string, error) {
	return readCached(ctx, rs, &rs.exchanges, fresh, rs.readExchanges)
}

func (rs *remoteState) readExchanges(ctx context.Context) ([]string, error) {
	data, found, err := rs.read(ctx, remoteExchangesKey, "list of exchanges")
	if !found || err != nil {
		return nil, err
	}
	var doc exchangesDoc
	if err := json.Unmarshal(data, &doc); err != nil || doc.Version != indexVersion {
		return nil, fmt.Errorf("the list of exchanges of the market data bucket %s is not a version %d list", rs.r.Location(), indexVersion)
	}
	var names []string
	for _, n := range doc.Exchanges {
		if ValidateExchange(n) == nil {
			names = append(names, n)
		}
	}
	return names, nil
}

// listed makes sure the exchange of series e, in the bucket, is in the
// bucket's list of exchanges.
func (s *Store) listed(ctx context.Context, e Series) error {
	if err := s.remote.listExchange(ctx, e.Exchange); err != nil {
		return fmt.Errorf("%s: stored here and in the market data bucket, but not listed in it: %w", e.Key, err)
	}
	return nil
}

// listExchange adds exchange to the bucket's list of exchanges unless it
// is there, reading the list back after writing it as push does the
// index, since two writers may each drop the other's addition.
func (rs *remoteState) listExchange(ctx context.Context, exchange string) error {
	loc := rs.r.Location()
	if names, err := rs.listedExchanges(ctx, false); err == nil && slices.Contains(names, exchange) {
		return nil
	}
	for attempt := 0; ; attempt++ {
		names, err := rs.listedExchanges(ctx, true)
		if err != nil {
			return err
		}
		if slices.Contains(names, exchange) {
			return nil
		}
		if attempt == 3 {
			return fmt.Errorf("the market data bucket %s's list of exchanges keeps losing %s to concurrent writers; write it again", loc, exchange)
		}
		names = append(slices.Clone(names), exchange)
		slices.Sort(names)
		b, err := json.MarshalIndent(exchangesDoc{Version: indexVersion, Exchanges: names}, "", " ")
		if err != nil {
			return err
		}
		if err := rs.put(ctx, remoteExchangesKey, b); err != nil {
			return fmt.Errorf("the market data bucket %s's list of exchanges: %w", loc, err)
		}
	}
}

// remoteSeries returns the series the bucket's index of exchange holds,
// each as remoteEntry finds it: what a read of the series gets.
func (s *Store) remoteSeries(ctx context.Context, exchange string) (map[Key]Series, error) {
	idx, err := s.remote.index(ctx, exchange, false)
	if err != nil {
		return nil, err
	}
	out := map[Key]Series{}
	for _, e := range idx {
		if _, done := out[e.Key]; done || e.Exchange != exchange || e.Key.Validate() != nil {
			continue
		}
		if got, ok := entryOf(s, idx, e.Key); ok {
			out[e.Key] = got
		}
	}
	return out, nil
}

// index returns exchange's remote index, through the cache (readCached).
// A bucket holding no index is an empty one.
func (rs *remoteState) index(ctx context.Context, exchange string, fresh bool) (map[string]Series, error) {
	rs.mu.Lock()
	c := rs.indexes[exchange]
	if c == nil {
		c = &cached[map[string]Series]{}
		rs.indexes[exchange] = c
	}
	rs.mu.Unlock()
	return readCached(ctx, rs, c, fresh, func(ctx context.Context) (map[string]Series, error) {
		return rs.readIndex(ctx, exchange)
	})
}

// readIndex reads exchange's index from the bucket.
func (rs *remoteState) readIndex(ctx context.Context, exchange string) (map[string]Series, error) {
	data, found, err := rs.read(ctx, remoteIndexKey(exchange), exchange+" index")
	switch {
	case err != nil:
		return nil, err
	case !found:
		return map[string]Series{}, nil
	}
	idx, err := decodeIndex(data)
	if err != nil {
		return nil, fmt.Errorf("the %s index of the market data bucket %s is not a version %d index", exchange, rs.r.Location(), indexVersion)
	}
	return idx, nil
}

// read returns the bytes of the bucket's object key, found false when the
// bucket has none; what names the object in an error ("ETH index").
func (rs *remoteState) read(ctx context.Context, key, what string) (data []byte, found bool, err error) {
	rc, err := rs.r.Get(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("reading the %s of the market data bucket %s: %w", what, rs.r.Location(), err)
	}
	data, err = io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, false, fmt.Errorf("reading the %s of the market data bucket %s: %w", what, rs.r.Location(), err)
	}
	return data, true, nil
}

// put writes b as the bucket's object key, with its SHA-256.
func (rs *remoteState) put(ctx context.Context, key string, b []byte) error {
	sum := sha256.Sum256(b)
	return rs.r.Put(ctx, key, bytes.NewReader(b), int64(len(b)), hex.EncodeToString(sum[:]))
}

// Pull brings series k from the store's [Remote] into the data directory
// when the remote holds a copy that differs (by SHA-256) from the local
// one: the file is written atomically, so a reader never sees a torn one,
// and its index entry recorded. Map, Load, Coverage and Append pull first;
// a store without a Remote, or a key without an exchange, has nothing to
// pull. A remote that cannot be reached is an error only when there is no
// local copy: with one, it is logged and the local copy serves. A remote
// copy that is corrupt is always an error naming the series and the
// bucket.
func (s *Store) Pull(ctx context.Context, k Key) error {
	k = k.normal()
	if err := k.validate(false); err != nil {
		return err
	}
	return s.pull(ctx, k)
}

// pull is Pull of a normalised, valid key.
func (s *Store) pull(ctx context.Context, k Key) error {
	if s.remote == nil || k.Exchange == "" {
		return nil
	}
	e, ok, err := s.remoteEntry(ctx, k, false)
	if err != nil {
		if _, _, ferr := s.find(k); ferr == nil {
			s.log.Warn("market data bucket unreachable; using the local copy", "series", k.String(), "bucket", s.remote.r.Location(), "err", err)
			return nil
		}
		return fmt.Errorf("%s: %w", k, err)
	}
	if !ok || s.localChecksum(k, e) == e.Checksum {
		return nil
	}
	unlock, err := s.lock(ctx, k.Exchange)
	if err != nil {
		return err
	}
	defer unlock()
	if s.localChecksum(k, e) == e.Checksum { // another process pulled it
		return nil
	}
	err = s.fetch(ctx, k, e)
	if errors.Is(err, errChanged) {
		// Written again since the index was read: read it again, once.
		if e, ok, err = s.remoteEntry(ctx, k, true); err != nil || !ok {
			return err
		}
		err = s.fetch(ctx, k, e)
	}
	return err
}

// errChanged: the remote file is not the one the remote index names.
var errChanged = errors.New("the file in the bucket changed while it was read")

// remoteEntry returns the remote index entry of k, ok false when the
// remote has none. An entry naming a file that is not one of k's is
// ignored.
func (s *Store) remoteEntry(ctx context.Context, k Key, fresh bool) (Series, bool, error) {
	idx, err := s.remote.index(ctx, k.Exchange, fresh)
	if err != nil {
		return Series{}, false, err
	}
	e, ok := entryOf(s, idx, k)
	return e, ok, nil
}

// entryOf is the entry of k in the remote index idx: the one at the first
// of k's file names (s.candidates) that idx holds for k with a SHA-256.
func entryOf(s *Store, idx map[string]Series, k Key) (Series, bool) {
	for _, p := range s.candidates(k) {
		if e, ok := idx[s.rel(p)]; ok && e.Key == k && strings.HasPrefix(e.Checksum, "sha256:") {
			return e, true
		}
	}
	return Series{}, false
}

// localChecksum is the SHA-256 ("sha256:…") of the local copy of k at the
// remote entry e's path, from the local index when it describes the file,
// else computed; "" when there is no local copy.
func (s *Store) localChecksum(k Key, e Series) string {
	p := filepath.Join(s.dir, filepath.FromSlash(e.File))
	st, err := os.Stat(p)
	if err != nil {
		return ""
	}
	if l, ok := current(s.readIndex(k.Exchange), e.File, st, k); ok {
		return l.Checksum
	}
	h := sha256.New()
	if hashFile(p, h) != nil {
		return ""
	}
	return checksum(h)
}

// fetch copies the remote file of entry e into the data directory
// atomically (the caller holds the exchange's lock) and records it in the
// local index.
func (s *Store) fetch(ctx context.Context, k Key, e Series) error {
	loc := s.remote.r.Location()
	p := filepath.Join(s.dir, filepath.FromSlash(e.File))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("%s: %w", k, err)
	}
	err := atomicfile.Write(p, func(w io.Writer) error {
		rc, err := s.remote.r.Get(ctx, remoteKey(e.File))
		if err != nil {
			return err
		}
		defer rc.Close()
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(w, h), rc); err != nil {
			return err
		}
		if checksum(h) != e.Checksum {
			return errChanged
		}
		return nil
	})
	switch {
	case errors.Is(err, errChanged):
		return fmt.Errorf("%s: market data bucket %s: %w", k, loc, err)
	case err != nil:
		return fmt.Errorf("%s: fetching %s from the market data bucket %s: %w", k, remoteKey(e.File), loc, err)
	}
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("%s: %w", k, err)
	}
	e.Size, e.Updated = st.Size(), st.ModTime().UTC()
	if err := s.updateIndex(k.Exchange, e); err != nil {
		s.log.Warn("could not record the series in the index", "series", k.String(), "err", err)
	}
	s.log.Info("market data fetched from the bucket", "series", k.String(), "bucket", loc, "file", e.File)
	return nil
}

// push puts the local file of series e (just written, the caller holding
// the exchange's lock) into the remote, then records it in the remote's
// index: the index is written last, so a reader never finds an entry
// whose file is not there yet. Two machines writing the same exchange's
// index at once may each drop the other's entry; each writer reads the
// index back and writes it again until its entry is there.
func (s *Store) push(ctx context.Context, e Series) error {
	loc := s.remote.r.Location()
	idx, err := s.remote.index(ctx, e.Exchange, true)
	if err != nil {
		return fmt.Errorf("%s: stored here but not in the market data bucket: %w", e.Key, err)
	}
	if got, ok := idx[e.File]; ok && got.Checksum == e.Checksum {
		return s.listed(ctx, e) // the bucket has it already
	}
	fh, err := os.Open(filepath.Join(s.dir, filepath.FromSlash(e.File)))
	if err != nil {
		return fmt.Errorf("%s: %w", e.Key, err)
	}
	defer fh.Close()
	sum := strings.TrimPrefix(e.Checksum, "sha256:")
	if err := s.remote.r.Put(ctx, remoteKey(e.File), fh, e.Size, sum); err != nil {
		return fmt.Errorf("%s: stored here but not in the market data bucket %s: %w", e.Key, loc, err)
	}
	for attempt := 0; ; attempt++ {
		// idx is shared with readers of the cache: write a copy.
		series := []Series{e}
		for file, rec := range idx {
			if file != e.File {
				series = append(series, rec)
			}
		}
		var buf bytes.Buffer
		if err := encodeIndex(&buf, series); err != nil {
			return err
		}
		if err := s.remote.put(ctx, remoteIndexKey(e.Exchange), buf.Bytes()); err != nil {
			return fmt.Errorf("%s: stored here but not in the market data bucket %s's index: %w", e.Key, loc, err)
		}
		if idx, err = s.remote.index(ctx, e.Exchange, true); err != nil {
			return fmt.Errorf("%s: stored here but not in the market data bucket: %w", e.Key, err)
		}
		if got, ok := idx[e.File]; ok && got.Checksum == e.Checksum {
			return s.listed(ctx, e)
		}
		if attempt == 2 {
			return fmt.Errorf("%s: the market data bucket %s's %s index keeps losing the series to concurrent writers; write it again", e.Key, loc, e.Exchange)
		}
	}
}
