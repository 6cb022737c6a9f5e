package market

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tradai/tradai/internal/atomicfile"
	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/sdk"
)

// Store is a market data directory. It is safe for concurrent use by many
// goroutines and, through a lock file per exchange folder, by several
// processes sharing the directory.
type Store struct {
	dir     string
	log     *slog.Logger
	inflate datafile.InflateLimit

	mu    sync.Mutex
	locks map[string]*sync.Mutex // per exchange, within this process

	remote *remoteState // nil: the data directory is all there is
}

// Options tune a [Store].
type Options struct {
	// Inflate bounds what one compressed series file (.json.gz, LZ4 or
	// ZSTD feather, parquet) may decompress to; zero fields take
	// datafile's defaults (64 times the file's size, 64 MiB at least,
	// 1 GiB at most).
	Inflate datafile.InflateLimit
	// Remote, when set, is the bucket the data directory is a cache of
	// ([Store.Pull]): reads fetch the bucket's newer copy of a series
	// first, writes put the series there too.
	Remote Remote
	// Clock times how long a remote index read is trusted (IndexTTL;
	// default DefaultIndexTTL). Nil: the real clock.
	Clock    clock.Clock
	IndexTTL time.Duration
}

// Open returns the store rooted at datadir with the default [Options]. The
// folder is created by the first write.
func Open(datadir string, log *slog.Logger) (*Store, error) {
	return OpenWith(datadir, log, Options{})
}

// OpenWith returns the store rooted at datadir with options o.
func OpenWith(datadir string, log *slog.Logger, o Options) (*Store, error) {
	if datadir == "" {
		return nil, errors.New("market data store: no data directory given")
	}
	if st, err := os.Stat(datadir); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("market data store: %s is not a folder", datadir)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{dir: datadir, log: log, inflate: o.Inflate, locks: map[string]*sync.Mutex{}}
	if o.Remote != nil {
		if o.IndexTTL <= 0 {
			o.IndexTTL = DefaultIndexTTL
		}
		s.remote = &remoteState{r: o.Remote, clk: clock.Or(o.Clock), ttl: o.IndexTTL, indexes: map[string]*cached[map[string]Series]{}}
	}
	return s, nil
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Kind returns the candle rule set ([datafile.CheckCandle]) of candle type
// t: traded candles for spot and futures (and the empty type), indicative
// prices for mark and index prices, indicative series for the premium
// index and funding rates.
func (t CandleType) Kind() datafile.Kind {
	switch t {
	case Spot, Futures, "":
		return datafile.Candles
	case Mark, Index:
		return datafile.IndicativePrices
	}
	return datafile.Indicative
}

// candidates returns the paths a series may be stored at, in order of
// preference: each supported format in the series' folder and then in the
// same place directly under the data directory (a Freqtrade datadir that
// already is one exchange's folder).
func (s *Store) candidates(k Key) []string {
	var out []string
	dirs := []string{k.dir(s.dir)}
	if k.Exchange != "" {
		dirs = append(dirs, Key{Type: k.Type}.dir(s.dir))
	}
	for _, d := range dirs {
		for _, ext := range datafile.Extensions() {
			out = append(out, filepath.Join(d, k.baseName()+"."+ext))
		}
	}
	return out
}

// find returns the path and file info of the stored series, or an error
// wrapping ErrNotFound.
func (s *Store) find(k Key) (string, os.FileInfo, error) {
	for _, p := range s.candidates(k) {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, st, nil
		}
	}
	if _, err := os.Stat(s.dir); errors.Is(err, fs.ErrNotExist) {
		return "", nil, fmt.Errorf("%s: %w: the market data folder %s does not exist", k, ErrNotFound, s.dir)
	}
	return "", nil, fmt.Errorf("%s: %w (looked for %s.* in %s)", k, ErrNotFound, k.baseName(), k.dir(s.dir))
}

// Load returns the candles of series k whose open time is in r. The error
// wraps ErrNotFound when the series is not stored, and datafile.ErrEmpty
// when it holds no candle in r.
//
// An empty exchange reads series directly from the data directory, as a
// Freqtrade datadir that is one exchange's folder.
func (s *Store) Load(ctx context.Context, k Key, r Range) (*sdk.Frame, error) {
	path, q, err := s.query(ctx, k, r)
	if err != nil {
		return nil, err
	}
	return datafile.LoadRange(path, q)
}

// Map is [Store.Load] with the candles' columns viewing the stored file
// mapped read-only where it can ([datafile.MapRange]): the caller owns the
// mapping and closes it when done with the candles. The store replaces
// files only by renaming new ones over them (internal/atomicfile), so the
// candles stay those read even when the series is written meanwhile.
func (s *Store) Map(ctx context.Context, k Key, r Range) (*datafile.Mapped, error) {
	path, q, err := s.query(ctx, k, r)
	if err != nil {
		return nil, err
	}
	return datafile.MapRange(path, q)
}

// query returns the file of series k and the query reading its candles in
// r.
func (s *Store) query(ctx context.Context, k Key, r Range) (string, datafile.Query, error) {
	k = k.normal()
	if err := k.validate(false); err != nil {
		return "", datafile.Query{}, err
	}
	if err := ctx.Err(); err != nil {
		return "", datafile.Query{}, err
	}
	if err := s.pull(ctx, k); err != nil {
		return "", datafile.Query{}, err
	}
	path, _, err := s.find(k)
	if err != nil {
		return "", datafile.Query{}, err
	}
	return path, datafile.Query{Pair: k.Pair, Timeframe: k.Timeframe, Kind: k.Type.Kind(), Start: r.Start, End: r.End, Inflate: s.inflate}, nil
}

// Append merges the candles of f into series k. Candles already stored with
// identical values are skipped; a candle whose open time is stored with
// different values is a conflict, and the whole append is refused with an
// error naming it, leaving the store untouched. f must be valid candle data
// of k's timeframe with open times on the timeframe's grid. The series is
// rewritten atomically as uncompressed Feather (a series kept in another
// format is left in place and superseded, with a warning).
func (s *Store) Append(ctx context.Context, k Key, f *sdk.Frame) (AppendResult, error) {
	k = k.normal()
	if err := k.Validate(); err != nil {
		return AppendResult{}, err
	}
	src := "new candles for " + k.String()
	if f == nil || f.Len() == 0 {
		return AppendResult{}, fmt.Errorf("%s: no candles given", src)
	}
	add := *f
	add.Pair, add.Timeframe = k.Pair, k.Timeframe
	add.EnterLong, add.ExitLong, add.EnterShort, add.ExitShort, add.EnterTag = nil, nil, nil, nil, nil
	if k.Type.Kind() != datafile.Candles {
		add.Time = snapToGrid(add.Time, k.Timeframe)
	}
	if err := checkGrid(&add, src); err != nil {
		return AppendResult{}, err
	}
	if err := datafile.ValidateKind(&add, src, k.Type.Kind()); err != nil {
		return AppendResult{}, err
	}
	if err := s.pull(ctx, k); err != nil { // merge onto the bucket's copy
		return AppendResult{}, err
	}
	unlock, err := s.lock(ctx, k.Exchange)
	if err != nil {
		return AppendResult{}, err
	}
	defer unlock()

	var res AppendResult
	merged := &add
	path, _, err := s.find(k)
	switch {
	case errors.Is(err, ErrNotFound):
		res.Added = add.Len()
	case err != nil:
		return res, err
	default:
		old, err := datafile.LoadRange(path, datafile.Query{Pair: k.Pair, Timeframe: k.Timeframe, Kind: k.Type.Kind(), Inflate: s.inflate})
		if err != nil {
			return res, fmt.Errorf("%s: reading the stored series: %w", k, err)
		}
		merged, res.Added, res.Duplicates, err = merge(old, &add, k)
		if err != nil {
			return res, err
		}
		if res.Added == 0 {
			if res.Series, err = s.coverageLocked(k, true); err == nil && s.remote != nil {
				err = s.push(ctx, res.Series) // a previous push may have failed
			}
			return res, err
		}
	}
	if err := os.MkdirAll(k.dir(s.dir), 0o755); err != nil {
		return res, fmt.Errorf("%s: %w", k, err)
	}
	target := filepath.Join(k.dir(s.dir), k.baseName()+".feather")
	if path != "" && path != target {
		s.log.Warn("series stored in another format is now superseded by a Feather file; the old file is kept",
			"series", k.String(), "old", path, "new", target)
	}
	h := sha256.New()
	if err := atomicfile.Write(target, func(w io.Writer) error {
		return datafile.WriteFeather(io.MultiWriter(w, h), merged, false)
	}); err != nil {
		return res, fmt.Errorf("%s: %w", k, err)
	}
	st, err := os.Stat(target)
	if err != nil {
		return res, fmt.Errorf("%s: %w", k, err)
	}
	res.Series = describe(k, s.rel(target), merged, st, h)
	if err := s.updateIndex(k.Exchange, res.Series); err != nil {
		return res, err
	}
	if s.remote != nil {
		if err := s.push(ctx, res.Series); err != nil {
			return res, err
		}
	}
	return res, nil
}

// merge merges add into old (both sorted, valid), returning the merged
// frame, how many candles of add are new and how many were already stored
// with identical values. A candle stored with different values is an error.
func merge(old, add *sdk.Frame, k Key) (*sdk.Frame, int, int, error) {
	n, m := old.Len(), add.Len()
	// Fast path: everything new comes after what is stored.
	if add.Time[0] > old.Time[n-1] {
		return concat(old, add), m, 0, nil
	}
	out := &sdk.Frame{Pair: old.Pair, Timeframe: old.Timeframe}
	out.Time = make([]int64, 0, n+m)
	cols := [5][]float64{}
	for c := range cols {
		cols[c] = make([]float64, 0, n+m)
	}
	oc := [5][]float64{old.Open, old.High, old.Low, old.Close, old.Volume}
	ac := [5][]float64{add.Open, add.High, add.Low, add.Close, add.Volume}
	names := [5]string{"open", "high", "low", "close", "volume"}
	take := func(src [5][]float64, t int64, i int) {
		out.Time = append(out.Time, t)
		for c := range cols {
			cols[c] = append(cols[c], src[c][i])
		}
	}
	added, dups := 0, 0
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case j == m || (i < n && old.Time[i] < add.Time[j]):
			take(oc, old.Time[i], i)
			i++
		case i == n || add.Time[j] < old.Time[i]:
			take(ac, add.Time[j], j)
			added++
			j++
		default:
			for c := range cols {
				a, b := oc[c][i], ac[c][j]
				if a != b && !(math.IsNaN(a) && math.IsNaN(b)) {
					return nil, 0, 0, fmt.Errorf("%s: the candle at %s is already stored with %s %s but the new data (row %d) has %s %s; nothing was written (delete the series to replace it)",
						k, fmtTime(add.Time[j]), names[c], fmtNum(a), j+1, names[c], fmtNum(b))
				}
			}
			take(oc, old.Time[i], i)
			dups++
			i++
			j++
		}
	}
	out.Open, out.High, out.Low, out.Close, out.Volume = cols[0], cols[1], cols[2], cols[3], cols[4]
	return out, added, dups, nil
}

// concat returns old followed by add.
func concat(old, add *sdk.Frame) *sdk.Frame {
	cat64 := func(a, b []float64) []float64 { return append(append(make([]float64, 0, len(a)+len(b)), a...), b...) }
	return &sdk.Frame{
		Pair: old.Pair, Timeframe: old.Timeframe,
		Time:   append(append(make([]int64, 0, len(old.Time)+len(add.Time)), old.Time...), add.Time...),
		Open:   cat64(old.Open, add.Open),
		High:   cat64(old.High, add.High),
		Low:    cat64(old.Low, add.Low),
		Close:  cat64(old.Close, add.Close),
		Volume: cat64(old.Volume, add.Volume),
	}
}

// snapJitter is how far off the grid an indicative series' timestamps may
// be and still be taken as the grid time: exchanges stamp funding rates
// with the milliseconds at which they were applied.
const snapJitter = 1000

// snapToGrid returns ts (a copy, if anything changes) with the times
// within snapJitter ms of a grid time moved onto it.
func snapToGrid(ts []int64, tf sdk.Timeframe) []int64 {
	out := ts
	for i, t := range ts {
		g := tf.Floor(t + snapJitter)
		if g == t || t-g > snapJitter || g-t > snapJitter {
			continue
		}
		if &out[0] == &ts[0] {
			out = slices.Clone(ts)
		}
		out[i] = g
	}
	return out
}

// checkGrid checks that every open time of f lies on its timeframe's grid.
func checkGrid(f *sdk.Frame, src string) error {
	tf := f.Timeframe
	step := tf.Millis()
	fixed := tf != "1w" && tf != "1M"
	for i, t := range f.Time {
		if fixed && t%step == 0 || !fixed && tf.OnGrid(t) {
			continue
		}
		msg := fmt.Sprintf("date %s is not on the %s candle grid (candles of this timeframe open at %s, %s, ...)",
			fmtTime(t), tf, fmtTime(tf.Floor(t)), fmtTime(tf.Next(t)))
		if i > 0 && t > f.Time[i-1] && t-f.Time[i-1] < step {
			msg += fmt.Sprintf(": it is only %s after the previous candle; is this a file of a shorter timeframe?",
				time.Duration(t-f.Time[i-1])*time.Millisecond)
		}
		return &datafile.RowError{File: src, Row: i + 1, Column: "date", Msg: msg}
	}
	return nil
}

// Coverage describes the stored series k: its first and last candle, count,
// gaps, size, last update and checksum. It answers from the index when the
// index entry matches the file's size and modification time, and otherwise
// reads the file (a series written by another program) and records it.
func (s *Store) Coverage(ctx context.Context, k Key) (Series, error) {
	k = k.normal()
	if err := k.Validate(); err != nil {
		return Series{}, err
	}
	if err := s.pull(ctx, k); err != nil {
		return Series{}, err
	}
	return s.coverage(ctx, k, s.readIndex(k.Exchange))
}

// coverage is Coverage answering from idx, the exchange's index as read by
// the caller (List and Freshness read it once for many series), and only
// for an entry idx lacks or that no longer matches its file taking the lock
// and reading the file.
func (s *Store) coverage(ctx context.Context, k Key, idx map[string]Series) (Series, error) {
	path, st, err := s.find(k)
	if err != nil {
		return Series{}, err
	}
	if e, ok := current(idx, s.rel(path), st, k); ok {
		return e, nil
	}
	unlock, err := s.lock(ctx, k.Exchange)
	switch {
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS):
		// A read-only data folder: answer without recording.
		return s.coverageLocked(k, false)
	case err != nil:
		return Series{}, err
	}
	defer unlock()
	return s.coverageLocked(k, true)
}

// coverageLocked is Coverage with the exchange's lock held; record says
// whether to update the index.
func (s *Store) coverageLocked(k Key, record bool) (Series, error) {
	path, st, err := s.find(k)
	if err != nil {
		return Series{}, err
	}
	rel := s.rel(path)
	if e, ok := current(s.readIndex(k.Exchange), rel, st, k); ok {
		return e, nil
	}
	f, err := datafile.LoadRange(path, datafile.Query{Pair: k.Pair, Timeframe: k.Timeframe, Kind: k.Type.Kind(), Inflate: s.inflate})
	if err != nil {
		return Series{}, err
	}
	h := sha256.New()
	if err := hashFile(path, h); err != nil {
		return Series{}, err
	}
	info := describe(k, rel, f, st, h)
	if !record {
		return info, nil
	}
	if err := s.updateIndex(k.Exchange, info); err != nil {
		s.log.Warn("could not record the series in the index", "series", k.String(), "err", err)
	}
	return info, nil
}

// describe builds the index record of frame f stored at rel.
func describe(k Key, rel string, f *sdk.Frame, st os.FileInfo, h hash.Hash) Series {
	ts := f.Time
	if k.Type.Kind() != datafile.Candles {
		ts = snapToGrid(ts, k.Timeframe) // funding times a few ms late
	}
	gaps, missing := Gaps(ts, k.Timeframe)
	return Series{
		Key: k, File: rel,
		First: ts[0], Last: ts[len(ts)-1], Count: len(ts),
		Gaps: gaps, Missing: missing,
		Size: st.Size(), Updated: st.ModTime().UTC(),
		Checksum: checksum(h),
	}
}

// current returns the index entry of series k stored at rel when it still
// describes the file st.
func current(idx map[string]Series, rel string, st os.FileInfo, k Key) (Series, bool) {
	e, ok := idx[rel]
	if !ok || e.Key != k || e.Size != st.Size() || !e.Updated.Equal(st.ModTime().UTC()) {
		return Series{}, false
	}
	return e, true
}

func hashFile(path string, h hash.Hash) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	if _, err := io.Copy(h, fh); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Gaps returns the missing ranges in the open times ts of timeframe tf and
// the number of candles they miss.
func Gaps(ts []int64, tf sdk.Timeframe) ([]Gap, int) {
	var gaps []Gap
	missing := 0
	step := tf.Millis()
	fixed := tf != "1M"
	for i := 1; i < len(ts); i++ {
		prev, t := ts[i-1], ts[i]
		if fixed {
			if t-prev == step {
				continue
			}
			g := Gap{From: prev + step, To: t}
			gaps = append(gaps, g)
			missing += int((t-prev+step-1)/step) - 1
			continue
		}
		if next := tf.Next(prev); next < t {
			g := Gap{From: next, To: t}
			gaps = append(gaps, g)
			missing += g.Candles(tf)
		}
	}
	return gaps, missing
}

// rel returns path relative to the data directory, with forward slashes.
func (s *Store) rel(path string) string {
	r, err := filepath.Rel(s.dir, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}

// List describes every series stored for exchange (every exchange when
// exchange is empty), sorted by exchange, pair, timeframe and candle type.
// Files whose names are not series names are skipped; a series file that
// cannot be read is reported in [Listing.Unreadable] and the others are
// listed. The error is for the listing as a whole: a bad exchange name
// (wrapping [ErrInvalidName]), an exchange without a folder (wrapping
// [ErrNotFound]), an unreadable folder, or a cancelled context.
//
// With a [Remote], the series in the bucket are listed too, each as the
// bucket's index describes it (what a read would fetch), without fetching
// any; a bucket that cannot be reached is logged and the local copies
// are listed.
func (s *Store) List(ctx context.Context, exchange string) (Listing, error) {
	var exchanges []string
	if exchange != "" {
		if err := ValidateExchange(exchange); err != nil {
			return Listing{}, err
		}
		exchanges = []string{exchange}
	} else {
		entries, err := os.ReadDir(s.dir)
		if errors.Is(err, fs.ErrNotExist) {
			return Listing{}, nil // nothing stored yet
		}
		if err != nil {
			return Listing{}, fmt.Errorf("market data store: %w", err)
		}
		for _, e := range entries {
			// Folders that cannot be exchange names (hidden ones among
			// them) hold no series.
			if e.IsDir() && ValidateExchange(e.Name()) == nil {
				exchanges = append(exchanges, e.Name())
			}
		}
		if s.remote != nil {
			names, err := s.remote.listedExchanges(ctx, false)
			if err != nil {
				s.remoteDown(err)
			}
			exchanges = append(exchanges, names...)
			slices.Sort(exchanges)
			exchanges = slices.Compact(exchanges)
		}
	}
	var out Listing
	for _, ex := range exchanges {
		idx := s.readIndex(ex)
		keys, err := s.keys(ex, idx)
		var remote map[Key]Series
		if s.remote != nil {
			var rerr error
			if remote, rerr = s.remoteSeries(ctx, ex); rerr != nil {
				s.remoteDown(rerr)
			}
			if errors.Is(err, ErrNotFound) && len(remote) > 0 {
				err = nil // in the bucket only
			}
		}
		if err != nil {
			return Listing{}, err
		}
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				return Listing{}, err
			}
			if e, ok := remote[k]; ok {
				out.Series = append(out.Series, e)
				delete(remote, k)
				continue
			}
			info, err := s.coverage(ctx, k, idx)
			switch {
			case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
				return Listing{}, err
			case err != nil:
				file := k.baseName()
				if path, _, ferr := s.find(k); ferr == nil {
					file = s.rel(path)
				}
				out.Unreadable = append(out.Unreadable, Unreadable{Key: k, File: file, Error: s.relErr(err)})
				continue
			}
			out.Series = append(out.Series, info)
		}
		for _, e := range remote {
			out.Series = append(out.Series, e)
		}
	}
	sortSeries(out.Series)
	slices.SortFunc(out.Unreadable, func(a, b Unreadable) int { return compareKeys(a.Key, b.Key) })
	return out, nil
}

// remoteDown logs that the bucket could not be read for a listing, which
// then shows the local copies.
func (s *Store) remoteDown(err error) {
	s.log.Warn("market data bucket unreachable; listing the local copies", "bucket", s.remote.r.Location(), "err", err)
}

// relErr is err's text with paths in the data directory written relative to
// it, so that it tells a remote user which file without revealing where the
// data directory is.
func (s *Store) relErr(err error) string {
	return strings.ReplaceAll(err.Error(), filepath.Clean(s.dir)+string(filepath.Separator), "")
}

// keys returns the series stored in exchange's folder (idx is its index), one key per series
// even when it exists in several formats. Pairs come from the index where it
// knows the file, and are otherwise read back from the file name as
// Freqtrade does ("BTC_USDT" is "BTC/USDT", "BTC_USDT_USDT" in futures/ is
// "BTC/USDT:USDT").
func (s *Store) keys(exchange string, idx map[string]Series) ([]Key, error) {
	seen := map[Key]bool{}
	var keys []Key
	root := filepath.Join(s.dir, exchange)
	for _, sub := range []string{"", "futures"} {
		entries, err := os.ReadDir(filepath.Join(root, sub))
		if errors.Is(err, fs.ErrNotExist) {
			if sub == "" {
				return nil, fmt.Errorf("market data store: no folder for exchange %q in %s (bring data in with `tradai data download` or `tradai data import`): %w", exchange, s.dir, ErrNotFound)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("market data store: %w", err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			k, ok := parseFileName(exchange, e.Name(), sub == "futures")
			if !ok {
				continue
			}
			if rec, ok := idx[path.Join(exchange, sub, e.Name())]; ok {
				k.Pair = rec.Pair
			}
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys, nil
}
