package market

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/tradai/tradai/internal/atomicfile"
	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/sdk"
)

// The index and the lock file live in each exchange's folder. Freqtrade
// ignores them (they are not series file names).
const (
	indexFile    = ".tradai-index.json"
	lockFile     = ".tradai.lock"
	indexVersion = 1
)

// indexDoc is the on-disk form of an exchange's index.
type indexDoc struct {
	Version int      `json:"version"`
	Series  []Series `json:"series"`
}

// readIndex returns the index of exchange keyed by file path relative to the
// data directory. A missing or unreadable index is empty: the index is a
// cache of what the files say and is rebuilt from them.
func (s *Store) readIndex(exchange string) map[string]Series {
	out := map[string]Series{}
	if ValidateExchange(exchange) != nil {
		return out
	}
	path := filepath.Join(s.dir, exchange, indexFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out
	}
	if err == nil {
		out, err = decodeIndex(data)
	}
	if err != nil {
		s.log.Warn("ignoring the unreadable series index; it is rebuilt from the data files", "file", path, "err", err)
		return map[string]Series{}
	}
	return out
}

// decodeIndex reads an index document (a data directory's or a bucket's),
// keyed by file path relative to the data directory.
func decodeIndex(data []byte) (map[string]Series, error) {
	var doc indexDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Version != indexVersion {
		return nil, fmt.Errorf("version %d, want %d", doc.Version, indexVersion)
	}
	out := make(map[string]Series, len(doc.Series))
	for _, e := range doc.Series {
		out[e.File] = e
	}
	return out, nil
}

// encodeIndex writes the index document of series (sorted in place) to w.
func encodeIndex(w io.Writer, series []Series) error {
	sortSeries(series)
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(indexDoc{Version: indexVersion, Series: series})
}

// checksum is an index entry's Checksum of the bytes h hashed.
func checksum(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// updateIndex records e in its exchange's index (the caller holds the
// exchange's lock), dropping entries whose files are gone.
func (s *Store) updateIndex(exchange string, e Series) error {
	if err := ValidateExchange(exchange); err != nil {
		return err
	}
	idx := s.readIndex(exchange)
	idx[e.File] = e
	var series []Series
	for file, rec := range idx {
		if _, err := os.Stat(filepath.Join(s.dir, filepath.FromSlash(file))); err != nil {
			continue
		}
		series = append(series, rec)
	}
	path := filepath.Join(s.dir, exchange, indexFile)
	err := atomicfile.Write(path, func(w io.Writer) error { return encodeIndex(w, series) })
	if err != nil {
		return fmt.Errorf("updating the series index: %w", err)
	}
	return nil
}

// lock takes the exchange's lock: a mutex within this process and an
// exclusive flock on the exchange folder's lock file across processes. It
// returns the function that releases both.
func (s *Store) lock(ctx context.Context, exchange string) (func(), error) {
	// The callers validated the key; the lock file and the index are
	// never made outside the data directory in any case.
	if err := ValidateExchange(exchange); err != nil {
		return nil, err
	}
	s.mu.Lock()
	mu, ok := s.locks[exchange]
	if !ok {
		mu = &sync.Mutex{}
		s.locks[exchange] = mu
	}
	s.mu.Unlock()
	mu.Lock()
	dir := filepath.Join(s.dir, exchange)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		mu.Unlock()
		return nil, fmt.Errorf("market data store: %w", err)
	}
	fl := flock.New(filepath.Join(dir, lockFile), flock.SetPermissions(0o644))
	// Poll rather than block so a cancelled context is noticed while
	// another process holds the lock.
	if _, err := fl.TryLockContext(ctx, 20*time.Millisecond); err != nil {
		_ = fl.Close()
		mu.Unlock()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("market data store: waiting for another process writing to %s: %w", dir, ctxErr)
		}
		return nil, fmt.Errorf("market data store: locking %s: %w", fl.Path(), err)
	}
	return func() {
		_ = fl.Unlock()
		mu.Unlock()
	}, nil
}

// parseFileName reads a series key back from a data file name:
// "BTC_USDT-5m.feather" in an exchange folder, or
// "BTC_USDT_USDT-1h-mark.feather" in its futures/ folder.
func parseFileName(exchange, name string, futures bool) (Key, bool) {
	base, ok := "", false
	for _, ext := range datafile.Extensions() {
		if b, found := strings.CutSuffix(name, "."+ext); found {
			base, ok = b, true
			break
		}
	}
	if !ok {
		return Key{}, false
	}
	k := Key{Exchange: exchange, Type: Spot}
	if futures {
		i := strings.LastIndexByte(base, '-')
		if i < 0 {
			return Key{}, false
		}
		t, err := ParseCandleType(base[i+1:])
		if err != nil || t == Spot {
			return Key{}, false
		}
		k.Type, base = t, base[:i]
	}
	i := strings.LastIndexByte(base, '-')
	if i <= 0 {
		return Key{}, false
	}
	tf, err := sdk.ParseTimeframe(base[i+1:])
	if err != nil {
		return Key{}, false
	}
	k.Timeframe = tf
	parts := strings.Split(base[:i], "_")
	switch {
	case futures && len(parts) >= 3:
		n := len(parts)
		k.Pair = strings.Join(parts[:n-2], "_") + "/" + parts[n-2] + ":" + parts[n-1]
	case len(parts) >= 2:
		k.Pair = strings.Join(parts[:len(parts)-1], "_") + "/" + parts[len(parts)-1]
	default:
		k.Pair = base[:i]
	}
	// Only names Freqtrade could have written: no characters that its
	// pair_to_filename replaces.
	if !strings.HasPrefix(name, k.baseName()+".") {
		return Key{}, false
	}
	return k, true
}

// compareKeys orders keys by exchange, pair, timeframe length and candle
// type.
func compareKeys(a, b Key) int {
	if c := strings.Compare(a.Exchange, b.Exchange); c != 0 {
		return c
	}
	if c := strings.Compare(a.Pair, b.Pair); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Timeframe.Millis(), b.Timeframe.Millis()); c != 0 {
		return c
	}
	return strings.Compare(string(a.Type), string(b.Type))
}

func sortSeries(ss []Series) {
	slices.SortFunc(ss, func(a, b Series) int { return compareKeys(a.Key, b.Key) })
}

// fmtTime formats Unix ms as "2006-01-02 15:04:05" UTC.
func fmtTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.DateTime) }

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// KeyOfPath reads a series key back from a data file's path in Freqtrade's
// layout: the exchange is the file's folder (or the folder above futures/).
// It reports false when the file name is not a series name.
func KeyOfPath(path string) (Key, bool) {
	dir, name := filepath.Split(filepath.Clean(path))
	dir = filepath.Clean(dir)
	futures := filepath.Base(dir) == "futures"
	if futures {
		dir = filepath.Dir(dir)
	}
	if k, ok := parseFileName(filepath.Base(dir), name, futures); ok {
		return k, true
	}
	if !futures {
		// A futures file outside a futures/ folder.
		return parseFileName(filepath.Base(dir), name, true)
	}
	return Key{}, false
}
