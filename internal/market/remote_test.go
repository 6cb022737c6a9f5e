package market

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/clock"
	"github.com/tradai/tradai/sdk"
)

// bucket is an in-memory Remote that checks content against the SHA-256
// it was put with, as objstore's stores do.
type bucket struct {
	mu   sync.Mutex
	objs map[string]object
	puts []string // keys in the order they were put
	gets int
	down bool
}

type object struct {
	data []byte
	sum  string
}

func newBucket() *bucket { return &bucket{objs: map[string]object{}} }

func (b *bucket) Location() string { return "s3://team-data/" }

func (b *bucket) Put(_ context.Context, key string, r io.Reader, size int64, sum string) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	got := sha256.Sum256(data)
	if int64(len(data)) != size || hex.EncodeToString(got[:]) != sum {
		return errors.New("content does not match its size and SHA-256")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return errors.New("connection refused")
	}
	b.objs[key] = object{data, sum}
	b.puts = append(b.puts, key)
	return nil
}

func (b *bucket) Get(_ context.Context, key string) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gets++
	if b.down {
		return nil, errors.New("connection refused")
	}
	o, ok := b.objs[key]
	if !ok {
		return nil, fmt.Errorf("object %s: %w", key, ErrNotFound)
	}
	if got := sha256.Sum256(o.data); hex.EncodeToString(got[:]) != o.sum {
		return io.NopCloser(io.MultiReader(bytes.NewReader(o.data), errReader{fmt.Errorf("object %s is corrupt", key)})), nil
	}
	return io.NopCloser(bytes.NewReader(o.data)), nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func (b *bucket) tamper(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o := b.objs[key]
	o.data = append(bytes.Clone(o.data[:len(o.data)/2]), 'x')
	b.objs[key] = o
}

func (b *bucket) setDown(down bool) {
	b.mu.Lock()
	b.down = down
	b.mu.Unlock()
}

func remoteStore(t testing.TB, dir string, b *bucket, clk clock.Clock, log *slog.Logger) *Store {
	t.Helper()
	s, err := OpenWith(dir, log, Options{Remote: b, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A series written on machine A reaches machine B, whose data folder is
// empty, through the bucket: the file first, the index last; B maps the
// same candles.
func TestRemoteWriteOnAReadOnB(t *testing.T) {
	b := newBucket()
	clk := clock.NewFake(time.Unix(0, 0))
	a := remoteStore(t, t.TempDir(), b, clk, nil)
	k := key("5m")
	f := walk(500, "5m", t0, 1)
	mustAppend(t, a, k, f)
	if want := []string{"data/binance/BTC_USDT-5m.feather", "data/binance/.tradai-index.json", "data/.tradai-exchanges.json"}; strings.Join(b.puts, " ") != strings.Join(want, " ") {
		t.Fatalf("puts %v, want %v (the file before the index, then the exchange listed)", b.puts, want)
	}
	dirB := t.TempDir()
	mb := remoteStore(t, dirB, b, clk, nil)
	m, err := mb.Map(context.Background(), k, Range{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	sameCandles(t, m.Frame, f)
	cov, err := mb.Coverage(context.Background(), k)
	if err != nil || cov.Count != 500 {
		t.Fatalf("B's coverage: %+v, %v", cov, err)
	}
	// Without the bucket, B's folder was empty.
	plain, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Map(context.Background(), k, Range{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a store without the bucket: %v, want ErrNotFound", err)
	}
}

// B trusts the index it read for the TTL on its clock, then sees A's
// newer copy; a write on B merges onto the bucket's copy.
func TestRemoteIndexCachedOnTheClock(t *testing.T) {
	b := newBucket()
	clk := clock.NewFake(time.Unix(0, 0))
	a := remoteStore(t, t.TempDir(), b, clk, nil)
	mb := remoteStore(t, t.TempDir(), b, clk, nil)
	k := key("1h")
	f := walk(300, "1h", t0, 2)
	first := *f
	first.Time, first.Open, first.High, first.Low, first.Close, first.Volume = f.Time[:100], f.Open[:100], f.High[:100], f.Low[:100], f.Close[:100], f.Volume[:100]
	mustAppend(t, a, k, &first)
	if got := mustLoad(t, mb, k, Range{}); got.Len() != 100 {
		t.Fatalf("B read %d candles, want 100", got.Len())
	}
	mustAppend(t, a, k, f)
	if got := mustLoad(t, mb, k, Range{}); got.Len() != 100 {
		t.Fatalf("B read %d candles within the index TTL, want its cached 100", got.Len())
	}
	clk.Advance(DefaultIndexTTL)
	if got := mustLoad(t, mb, k, Range{}); got.Len() != 300 {
		t.Fatalf("B read %d candles after the TTL, want A's 300", got.Len())
	}
	more := walk(350, "1h", t0, 2) // the same walk, 50 candles longer
	mustAppend(t, mb, k, more)
	clk.Advance(DefaultIndexTTL)
	if got := mustLoad(t, a, k, Range{}); got.Len() != 350 {
		t.Fatalf("A read %d candles after B's write, want 350", got.Len())
	}
}

// A corrupt copy in the bucket is an error naming the series and the
// bucket, and leaves no file behind.
func TestRemoteCorruptIsAnError(t *testing.T) {
	b := newBucket()
	clk := clock.NewFake(time.Unix(0, 0))
	k := key("5m")
	mustAppend(t, remoteStore(t, t.TempDir(), b, clk, nil), k, walk(200, "5m", t0, 3))
	b.tamper("data/binance/BTC_USDT-5m.feather")
	dirB := t.TempDir()
	_, err := remoteStore(t, dirB, b, clk, nil).Map(context.Background(), k, Range{})
	if err == nil || !strings.Contains(err.Error(), "BTC/USDT") || !strings.Contains(err.Error(), b.Location()) {
		t.Fatalf("map of a corrupt object: %v, want an error naming the pair and %s", err, b.Location())
	}
	if _, err := os.Stat(filepath.Join(dirB, "binance", "BTC_USDT-5m.feather")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the corrupt object left a file: %v", err)
	}
}

// A bucket that cannot be reached: the local copy serves, with a warning;
// without one, the error names the bucket. A write fails.
func TestRemoteUnreachable(t *testing.T) {
	b := newBucket()
	clk := clock.NewFake(time.Unix(0, 0))
	k := key("5m")
	f := walk(200, "5m", t0, 4)
	mustAppend(t, remoteStore(t, t.TempDir(), b, clk, nil), k, f)
	var logs bytes.Buffer
	mb := remoteStore(t, t.TempDir(), b, clk, slog.New(slog.NewTextHandler(&logs, nil)))
	mustLoad(t, mb, k, Range{})
	b.setDown(true)
	clk.Advance(DefaultIndexTTL)
	sameCandles(t, mustLoad(t, mb, k, Range{}), f)
	if !strings.Contains(logs.String(), "bucket unreachable; using the local copy") {
		t.Errorf("no warning logged: %s", logs.String())
	}
	_, err := remoteStore(t, t.TempDir(), b, clk, nil).Load(context.Background(), k, Range{})
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), b.Location()) {
		t.Fatalf("load without a local copy: %v, want an error naming the bucket", err)
	}
	if _, err := mb.Append(context.Background(), k, walk(210, "5m", t0, 4)); err == nil || !strings.Contains(err.Error(), "not in the market data bucket") {
		t.Fatalf("append with the bucket down: %v", err)
	}
}

// Series stored before the data folder had a bucket reach it when they
// are written again, even with nothing new.
func TestRemoteSeedsFromLocal(t *testing.T) {
	dir := t.TempDir()
	k := key("5m")
	f := walk(100, "5m", t0, 5)
	plain, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, plain, k, f)
	b := newBucket()
	clk := clock.NewFake(time.Unix(0, 0))
	if res := mustAppend(t, remoteStore(t, dir, b, clk, nil), k, f); res.Added != 0 {
		t.Fatalf("added %d", res.Added)
	}
	sameCandles(t, mustLoad(t, remoteStore(t, t.TempDir(), b, clk, nil), k, Range{}), f)
}

// A bucket that is down is asked once per index TTL, not once per series.
func TestRemoteDownIsAskedOncePerTTL(t *testing.T) {
	b := newBucket()
	clk := clock.NewFake(time.Unix(0, 0))
	dir := t.TempDir()
	s := remoteStore(t, dir, b, clk, nil)
	tfs := []sdk.Timeframe{"5m", "15m", "1h"}
	for i, tf := range tfs {
		mustAppend(t, s, key(tf), walk(50, tf, t0, uint64(i)))
	}
	b.setDown(true)
	clk.Advance(DefaultIndexTTL)
	b.mu.Lock()
	b.gets = 0
	b.mu.Unlock()
	for _, tf := range tfs {
		mustLoad(t, s, key(tf), Range{})
	}
	if b.gets != 1 {
		t.Errorf("%d requests to a bucket that is down for %d series, want 1", b.gets, len(tfs))
	}
}

// Readers on many goroutines pulling the same series each get it whole.
func TestRemoteConcurrentPulls(t *testing.T) {
	b := newBucket()
	clk := clock.NewFake(time.Unix(0, 0))
	k := key("5m")
	f := walk(2000, "5m", t0, 7)
	mustAppend(t, remoteStore(t, t.TempDir(), b, clk, nil), k, f)
	mb := remoteStore(t, t.TempDir(), b, clk, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			m, err := mb.Map(context.Background(), k, Range{})
			if err != nil {
				errs <- err
				return
			}
			defer m.Close()
			if m.Frame.Len() != f.Len() {
				errs <- fmt.Errorf("%d candles, want %d", m.Frame.Len(), f.Len())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Whatever the bucket's index holds, a read neither panics nor writes
// outside the series' own file in the data folder.
func FuzzRemoteIndex(f *testing.F) {
	b := newBucket()
	src := remoteStore(f, f.TempDir(), b, clock.NewFake(time.Unix(0, 0)), nil)
	k := key("5m")
	if _, err := src.Append(context.Background(), k, walk(20, "5m", t0, 9)); err != nil {
		f.Fatal(err)
	}
	good := b.objs["data/binance/.tradai-index.json"].data
	f.Add(good)
	f.Add([]byte(strings.ReplaceAll(string(good), "binance/BTC_USDT-5m.feather", "../../escape.feather")))
	f.Add([]byte(strings.ReplaceAll(string(good), `"sha256:`, `"sha256:00`)))
	f.Add([]byte(`{"version":1,"series":[{"exchange":"binance","pair":"BTC/USDT","timeframe":"5m","file":"/etc/passwd","checksum":"sha256:x"}]}`))
	f.Fuzz(func(t *testing.T, index []byte) {
		bk := newBucket()
		for key, o := range b.objs {
			bk.objs[key] = o
		}
		sum := sha256.Sum256(index)
		bk.objs["data/binance/.tradai-index.json"] = object{index, hex.EncodeToString(sum[:])}
		root := t.TempDir()
		dir := filepath.Join(root, "data")
		s := remoteStore(t, dir, bk, clock.NewFake(time.Unix(0, 0)), nil)
		_, _ = s.Load(context.Background(), k, Range{})
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			switch filepath.ToSlash(rel) {
			case "binance/BTC_USDT-5m.feather", "binance/.tradai-index.json", "binance/.tradai.lock":
				return nil
			}
			return fmt.Errorf("a read wrote %s", rel)
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Machine B, its data folder empty, lists the series A wrote to the
// bucket (every exchange, or the one asked for) and their freshness as
// the bucket's index describes them, without fetching them; a series of
// its own is listed beside them. With the bucket down, B lists what it
// holds.
func TestRemoteListAndFreshnessOnB(t *testing.T) {
	b := newBucket()
	clk := clock.NewFake(time.Unix(0, 0))
	a := remoteStore(t, t.TempDir(), b, clk, nil)
	k := key("5m")
	mustAppend(t, a, k, walk(500, "5m", t0, 1))
	mb := remoteStore(t, t.TempDir(), b, clk, nil)
	ctx := context.Background()
	for _, ex := range []string{"", "binance"} {
		l, err := mb.List(ctx, ex)
		if err != nil || len(l.Series) != 1 || l.Series[0].Key != k || l.Series[0].Count != 500 || len(l.Unreadable) != 0 {
			t.Fatalf("B's listing of %q: %+v, %v", ex, l, err)
		}
	}
	if _, err := os.Stat(filepath.Join(mb.Dir(), "binance")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("listing fetched into B's folder: %v", err)
	}
	fr, err := mb.Freshness(ctx, []Key{k}, time.UnixMilli(t0+500*300_000), 0)
	if err != nil || fr[0].Status != Fresh || fr[0].Count != 500 {
		t.Fatalf("B's freshness: %+v, %v", fr, err)
	}

	// B's own series (not in the bucket) and A's: both listed.
	own := Key{Exchange: "kraken", Pair: "ETH/USDT", Timeframe: "1h"}
	plainB, err := Open(mb.Dir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, plainB, own, walk(10, "1h", t0, 2))
	l, err := mb.List(ctx, "")
	if err != nil || len(l.Series) != 2 || l.Series[0].Key != k || l.Series[1].Key != own.normal() {
		t.Fatalf("B's listing with a series of its own: %+v, %v", l, err)
	}

	b.setDown(true)
	clk.Advance(DefaultIndexTTL)
	l, err = mb.List(ctx, "")
	if err != nil || len(l.Series) != 1 || l.Series[0].Key != own.normal() {
		t.Fatalf("B's listing with the bucket down: %+v, %v", l, err)
	}
	if fr, err := mb.Freshness(ctx, []Key{k}, time.UnixMilli(t0), 0); err != nil || fr[0].Status != Missing {
		t.Fatalf("B's freshness with the bucket down: %+v, %v", fr, err)
	}
}
