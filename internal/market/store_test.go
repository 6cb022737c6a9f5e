package market

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/sdk"
)

// t0 is 2024-01-01 00:00 UTC, a Monday.
var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// walk returns n valid candles of tf starting at start, a seeded random walk.
func walk(n int, tf sdk.Timeframe, start int64, seed uint64) *sdk.Frame {
	r := rand.New(rand.NewPCG(seed, 1))
	f := &sdk.Frame{Pair: "BTC/USDT", Timeframe: tf}
	price := 100.0
	t := start
	for range n {
		o := price
		c := o * (1 + (r.Float64()-0.5)*0.01)
		h := max(o, c) * (1 + r.Float64()*0.003)
		l := min(o, c) * (1 - r.Float64()*0.003)
		f.Time = append(f.Time, t)
		f.Open = append(f.Open, o)
		f.High = append(f.High, h)
		f.Low = append(f.Low, l)
		f.Close = append(f.Close, c)
		f.Volume = append(f.Volume, math.Round(r.Float64()*1000))
		price = c
		t = tf.Next(t)
	}
	return f
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func key(tf sdk.Timeframe) Key {
	return Key{Exchange: "binance", Pair: "BTC/USDT", Timeframe: tf, Type: Spot}
}

func mustAppend(t *testing.T, s *Store, k Key, f *sdk.Frame) AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), k, f)
	if err != nil {
		t.Fatalf("append %d candles: %v", f.Len(), err)
	}
	return res
}

func mustLoad(t *testing.T, s *Store, k Key, r Range) *sdk.Frame {
	t.Helper()
	f, err := s.Load(context.Background(), k, r)
	if err != nil {
		t.Fatalf("load %s: %v", k, err)
	}
	return f
}

// sameCandles fails unless got and want hold the same candles.
func sameCandles(t *testing.T, got, want *sdk.Frame) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("got %d candles, want %d", got.Len(), want.Len())
	}
	for i := range want.Time {
		if got.Time[i] != want.Time[i] || got.Open[i] != want.Open[i] || got.High[i] != want.High[i] ||
			got.Low[i] != want.Low[i] || got.Close[i] != want.Close[i] || got.Volume[i] != want.Volume[i] {
			t.Fatalf("candle %d differs: got %v %v %v %v %v %v, want %v %v %v %v %v %v", i,
				got.Time[i], got.Open[i], got.High[i], got.Low[i], got.Close[i], got.Volume[i],
				want.Time[i], want.Open[i], want.High[i], want.Low[i], want.Close[i], want.Volume[i])
		}
	}
}

func TestAppendLoadRoundTrip(t *testing.T) {
	s := openStore(t)
	k := key("5m")
	f := walk(1000, "5m", t0, 1)
	res := mustAppend(t, s, k, f)
	if res.Added != 1000 || res.Duplicates != 0 {
		t.Errorf("added %d, duplicates %d; want 1000, 0", res.Added, res.Duplicates)
	}
	path := filepath.Join(s.Dir(), "binance", "BTC_USDT-5m.feather")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the series is not in Freqtrade's layout: %v", err)
	}
	sum := sha256.Sum256(data)
	info := res.Series
	if info.File != "binance/BTC_USDT-5m.feather" || info.Count != 1000 || info.First != t0 ||
		info.Last != t0+999*300_000 || info.Missing != 0 || len(info.Gaps) != 0 ||
		info.Size != int64(len(data)) || info.Checksum != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("index record %+v does not describe the file", info)
	}
	// Freqtrade's reader (our general file loader) reads what we wrote.
	back, err := datafile.Load(path, "BTC/USDT", "5m")
	if err != nil {
		t.Fatal(err)
	}
	sameCandles(t, back, f)
	sameCandles(t, mustLoad(t, s, k, Range{}), f)

	// A range: candles 100..199.
	r := Range{Start: f.Time[100], End: f.Time[200]}
	sameCandles(t, mustLoad(t, s, k, r), f.Slice(100, 200))
	// A range between candles is rounded to the candles inside it.
	r = Range{Start: f.Time[100] + 1, End: f.Time[200] + 1}
	sameCandles(t, mustLoad(t, s, k, r), f.Slice(101, 201))
}

func TestAppendMerges(t *testing.T) {
	s := openStore(t)
	k := key("1m")
	all := walk(300, "1m", t0, 2)
	mustAppend(t, s, k, all.Slice(100, 200))
	// Later, earlier and overlapping candles merge by time.
	res := mustAppend(t, s, k, all.Slice(150, 300))
	if res.Added != 100 || res.Duplicates != 50 {
		t.Errorf("added %d, duplicates %d; want 100, 50", res.Added, res.Duplicates)
	}
	res = mustAppend(t, s, k, all.Slice(0, 120))
	if res.Added != 100 || res.Duplicates != 20 {
		t.Errorf("added %d, duplicates %d; want 100, 20", res.Added, res.Duplicates)
	}
	sameCandles(t, mustLoad(t, s, k, Range{}), all)
	if res.Series.Count != 300 || res.Series.First != all.Time[0] || res.Series.Last != all.Time[299] {
		t.Errorf("index after merge: %+v", res.Series)
	}

	// Appending only what is stored changes nothing, not even the file.
	path := filepath.Join(s.Dir(), "binance", "BTC_USDT-1m.feather")
	before, _ := os.Stat(path)
	res = mustAppend(t, s, k, all.Slice(10, 20))
	after, _ := os.Stat(path)
	if res.Added != 0 || res.Duplicates != 10 || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("duplicates-only append: added %d, dups %d, file rewritten %v", res.Added, res.Duplicates, !after.ModTime().Equal(before.ModTime()))
	}
}

func TestAppendRefusesConflicts(t *testing.T) {
	s := openStore(t)
	k := key("1h")
	f := walk(48, "1h", t0, 3)
	mustAppend(t, s, k, f)
	path := filepath.Join(s.Dir(), "binance", "BTC_USDT-1h.feather")
	before, _ := os.ReadFile(path)

	changed := walk(60, "1h", f.Time[40], 4) // overlaps candles 40..47 with other prices
	_, err := s.Append(context.Background(), k, changed)
	if err == nil {
		t.Fatal("conflicting append accepted")
	}
	for _, want := range []string{"binance BTC/USDT 1h", "2024-01-02 16:00:00", "already stored", "row 1", "nothing was written"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("a refused append changed the stored file")
	}
}

func TestAppendRejectsBadCandles(t *testing.T) {
	s := openStore(t)
	k := key("5m")
	good := walk(10, "5m", t0, 5)
	mustAppend(t, s, k, good)
	path := filepath.Join(s.Dir(), "binance", "BTC_USDT-5m.feather")
	before, _ := os.ReadFile(path)

	cases := []struct {
		name  string
		edit  func(f *sdk.Frame)
		wants []string
	}{
		{"off grid", func(f *sdk.Frame) { f.Time[3] += 60_000 }, []string{"row 4", "not on the 5m candle grid"}},
		{"out of order", func(f *sdk.Frame) { f.Time[2], f.Time[3] = f.Time[3], f.Time[2] }, []string{"row 4", "sorted"}},
		{"shorter timeframe", func(f *sdk.Frame) { f.Time[5] = f.Time[4] + 60_000 }, []string{"row 6", "shorter timeframe"}},
		{"negative price", func(f *sdk.Frame) { f.Low[7] = -1 }, []string{"row 8", "low"}},
		{"high below low", func(f *sdk.Frame) { f.High[1] = f.Low[1] / 2 }, []string{"row 2", "high"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := walk(10, "5m", good.Time[9]+300_000, 6)
			c.edit(f)
			_, err := s.Append(context.Background(), k, f)
			if err == nil {
				t.Fatal("bad candles accepted")
			}
			for _, w := range append(c.wants, "new candles for binance BTC/USDT 5m") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Error("a refused append changed the stored file")
			}
		})
	}
	for _, bad := range []Key{
		{Exchange: "", Pair: "BTC/USDT", Timeframe: "5m"},
		{Exchange: "../etc", Pair: "BTC/USDT", Timeframe: "5m"},
		{Exchange: "binance", Pair: "", Timeframe: "5m"},
		{Exchange: "binance", Pair: "BTC/USDT", Timeframe: "7m"},
		{Exchange: "binance", Pair: "BTC/USDT", Timeframe: "5m", Type: "perp"},
	} {
		if _, err := s.Append(context.Background(), bad, good); err == nil {
			t.Errorf("key %+v accepted", bad)
		}
	}
}

func TestGaps(t *testing.T) {
	s := openStore(t)
	k := key("1m")
	f := walk(100, "1m", t0, 7)
	// Drop candles 10..14 and 50.
	keep := func(i int) bool { return !(i >= 10 && i < 15) && i != 50 }
	holey := &sdk.Frame{Pair: f.Pair, Timeframe: f.Timeframe}
	for i := range f.Time {
		if keep(i) {
			holey.Time = append(holey.Time, f.Time[i])
			holey.Open = append(holey.Open, f.Open[i])
			holey.High = append(holey.High, f.High[i])
			holey.Low = append(holey.Low, f.Low[i])
			holey.Close = append(holey.Close, f.Close[i])
			holey.Volume = append(holey.Volume, f.Volume[i])
		}
	}
	info := mustAppend(t, s, k, holey).Series
	want := []Gap{{From: f.Time[10], To: f.Time[15]}, {From: f.Time[50], To: f.Time[51]}}
	if fmt.Sprint(info.Gaps) != fmt.Sprint(want) || info.Missing != 6 || info.Count != 94 {
		t.Errorf("gaps %v missing %d count %d; want %v, 6, 94", info.Gaps, info.Missing, info.Count, want)
	}
	// Filling the gaps closes them.
	info = mustAppend(t, s, k, f.Slice(10, 15)).Series
	if len(info.Gaps) != 1 || info.Missing != 1 {
		t.Errorf("after filling: gaps %v missing %d", info.Gaps, info.Missing)
	}

	// Months: gaps count calendar months.
	ms := func(y int, m time.Month) int64 { return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).UnixMilli() }
	gaps, missing := Gaps([]int64{ms(2024, 1), ms(2024, 2), ms(2024, 5), ms(2025, 1)}, "1M")
	if fmt.Sprint(gaps) != fmt.Sprint([]Gap{{ms(2024, 3), ms(2024, 5)}, {ms(2024, 6), ms(2025, 1)}}) || missing != 9 {
		t.Errorf("monthly gaps %v missing %d", gaps, missing)
	}
}

func TestCoverageOfForeignFiles(t *testing.T) {
	s := openStore(t)
	// A Freqtrade file copied into the store, with no index entry.
	dst := filepath.Join(s.Dir(), "binance", "XRP_ETH-5m.feather")
	copyFile(t, "../../testdata/binance/XRP_ETH-5m.feather", dst)
	k := Key{Exchange: "binance", Pair: "XRP/ETH", Timeframe: "5m"}
	info, err := s.Coverage(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	f, err := datafile.Load(dst, "XRP/ETH", "5m")
	if err != nil {
		t.Fatal(err)
	}
	if info.Count != f.Len() || info.First != f.Time[0] || info.Last != f.Time[f.Len()-1] || info.Type != Spot {
		t.Errorf("coverage %+v does not match the file (%d candles)", info, f.Len())
	}
	idx := s.readIndex("binance")
	if _, ok := idx["binance/XRP_ETH-5m.feather"]; !ok {
		t.Errorf("coverage not recorded in the index: %v", idx)
	}

	// The file changes behind the store's back: the index is not trusted.
	short := f.Slice(0, 10)
	var buf bytes.Buffer
	if err := datafile.WriteFeather(&buf, short, true); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err = s.Coverage(context.Background(), k)
	if err != nil || info.Count != 10 {
		t.Errorf("after an outside change: count %d, err %v; want 10", info.Count, err)
	}

	// A corrupt index is ignored and rebuilt.
	if err := os.WriteFile(filepath.Join(s.Dir(), "binance", indexFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err = s.Coverage(context.Background(), k)
	if err != nil || info.Count != 10 {
		t.Errorf("with a corrupt index: count %d, err %v", info.Count, err)
	}
	if _, ok := s.readIndex("binance")["binance/XRP_ETH-5m.feather"]; !ok {
		t.Error("corrupt index not rebuilt")
	}

	_, err = s.Coverage(context.Background(), Key{Exchange: "binance", Pair: "NOPE/BTC", Timeframe: "5m"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing series: err %v, want ErrNotFound", err)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestList(t *testing.T) {
	s := openStore(t)
	mustAppend(t, s, key("1h"), walk(24, "1h", t0, 8))
	mustAppend(t, s, key("5m"), walk(12, "5m", t0, 9))
	eth := Key{Exchange: "binance", Pair: "ETH/USDT", Timeframe: "1d"}
	mustAppend(t, s, eth, walk(5, "1d", t0, 10))
	fut := Key{Exchange: "binance", Pair: "XRP/USDT:USDT", Timeframe: "5m", Type: Futures}
	copyFile(t, "../../testdata/binance/futures/XRP_USDT_USDT-5m-futures.feather",
		filepath.Join(s.Dir(), "binance", "futures", "XRP_USDT_USDT-5m-futures.feather"))
	mustAppend(t, s, Key{Exchange: "kraken", Pair: "BTC/EUR", Timeframe: "1h"}, walk(3, "1h", t0, 11))
	// Debris that is not a series: ignored.
	os.WriteFile(filepath.Join(s.Dir(), "binance", "notes.txt"), []byte("hi"), 0o644)
	os.WriteFile(filepath.Join(s.Dir(), "binance", ".BTC_USDT-1h.feather.tmp123"), []byte("half"), 0o644)

	all, err := s.List(context.Background(), "")
	if err != nil || len(all.Unreadable) > 0 {
		t.Fatal(err, all.Unreadable)
	}
	var got []string
	for _, si := range all.Series {
		got = append(got, fmt.Sprintf("%s:%d", si.Key, si.Count))
		if si.Size <= 0 || si.Checksum == "" {
			t.Errorf("%s: no size or checksum", si.Key)
		}
	}
	want := []string{"binance BTC/USDT 5m:12", "binance BTC/USDT 1h:24", "binance ETH/USDT 1d:5",
		"binance XRP/USDT:USDT 5m futures:" + fmt.Sprint(mustLoad(t, s, fut, Range{}).Len()), "kraken BTC/EUR 1h:3"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("list:\n got %v\nwant %v", got, want)
	}
	one, err := s.List(context.Background(), "kraken")
	if err != nil || len(one.Series) != 1 {
		t.Errorf("list kraken: %v, %v", one, err)
	}
	if _, err := s.List(context.Background(), "nowhere"); !errors.Is(err, ErrNotFound) {
		t.Errorf("listing an unknown exchange: %v, want ErrNotFound", err)
	}
}

func TestFreshness(t *testing.T) {
	s := openStore(t)
	k := key("1h")
	f := walk(24, "1h", t0, 12) // last candle opens 2024-01-01 23:00, closes 2024-01-02 00:00
	mustAppend(t, s, k, f)
	closeAt := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	missing := Key{Exchange: "binance", Pair: "ETH/USDT", Timeframe: "1h"}
	cases := []struct {
		now    time.Time
		maxAge time.Duration
		want   string
		age    time.Duration
	}{
		{closeAt.Add(30 * time.Minute), 0, Fresh, 30 * time.Minute},
		{closeAt.Add(2 * time.Hour), 0, Fresh, 2 * time.Hour},
		{closeAt.Add(2*time.Hour + time.Second), 0, Stale, 2*time.Hour + time.Second},
		{closeAt.Add(3 * time.Hour), 4 * time.Hour, Fresh, 3 * time.Hour},
	}
	for _, c := range cases {
		rs, err := s.Freshness(context.Background(), []Key{k, missing}, c.now, c.maxAge)
		if err != nil {
			t.Fatal(err)
		}
		r := rs[0]
		if r.Status != c.want || r.Age != c.age || r.Last != f.Time[23] || r.Count != 24 || r.LastClose != closeAt.UnixMilli() {
			t.Errorf("now %s max %s: %+v; want %s, age %s", c.now, c.maxAge, r, c.want, c.age)
		}
		if rs[1].Status != Missing || rs[1].Error != "" {
			t.Errorf("missing series: %+v", rs[1])
		}
		if AllFresh(rs) {
			t.Error("AllFresh with a missing series")
		}
	}
}

func TestConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	all := walk(2000, "1m", t0, 13)
	k := key("1m")
	// Two stores on one folder stand for two processes: the lock file
	// serialises them.
	stores := make([]*Store, 2)
	for i := range stores {
		var err error
		if stores[i], err = Open(dir, nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Chunks overlap their neighbours by 10 candles.
			from := max(0, i*100-10)
			_, err := stores[i%2].Append(context.Background(), k, all.Slice(from, (i+1)*100))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sameCandles(t, mustLoad(t, stores[0], k, Range{}), all)
	info, err := stores[1].Coverage(context.Background(), k)
	if err != nil || info.Count != 2000 || info.Missing != 0 {
		t.Errorf("coverage after concurrent appends: %+v, %v", info, err)
	}
}

func TestLoadErrors(t *testing.T) {
	s := openStore(t)
	k := key("5m")
	if _, err := s.Load(context.Background(), k, Range{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("err %v, want ErrNotFound", err)
	}
	f := walk(10, "5m", t0, 14)
	mustAppend(t, s, k, f)
	_, err := s.Load(context.Background(), k, Range{Start: f.Time[9] + 1})
	if !errors.Is(err, datafile.ErrEmpty) {
		t.Errorf("empty range: err %v, want ErrEmpty", err)
	}
	// A truncated file is reported, not trusted.
	path := filepath.Join(s.Dir(), "binance", "BTC_USDT-5m.feather")
	data, _ := os.ReadFile(path)
	os.WriteFile(path, data[:len(data)/2], 0o644)
	if _, err := s.Load(context.Background(), k, Range{}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated file: err %v, want an error naming %s", err, path)
	}
	// And the store refuses to merge into it rather than overwrite it.
	if _, err := s.Append(context.Background(), k, walk(2, "5m", f.Time[9]+300_000, 15)); err == nil {
		t.Error("append onto a corrupt series succeeded")
	}
	after, _ := os.ReadFile(path)
	if len(after) != len(data)/2 {
		t.Error("append onto a corrupt series rewrote it")
	}
}

func TestParseFileName(t *testing.T) {
	cases := []struct {
		name    string
		futures bool
		want    string
		ok      bool
	}{
		{"BTC_USDT-5m.feather", false, "x BTC/USDT 5m", true},
		{"BTC_USDT-1M.json.gz", false, "x BTC/USDT 1M", true},
		{"XRP_USDT_USDT-8h-funding_rate.feather", true, "x XRP/USDT:USDT 8h funding_rate", true},
		{"XRP_USDT_USDT-1h-mark.parquet", true, "x XRP/USDT:USDT 1h mark", true},
		{"XRP_USDT_USDT-1h-spot.feather", true, "", false},
		{"BTC_USDT-7m.feather", false, "", false},
		{"BTC_USDT-5m.txt", false, "", false},
		{"-5m.feather", false, "", false},
	}
	for _, c := range cases {
		k, ok := parseFileName("x", c.name, c.futures)
		if ok != c.ok || ok && k.String() != c.want {
			t.Errorf("%s: %v %v; want %q %v", c.name, k, ok, c.want, c.ok)
		}
	}
}

func TestFreshnessJSON(t *testing.T) {
	r := Freshness{Key: key("1h"), Status: Stale, Last: t0, LastClose: t0 + 3_600_000, Age: 90 * time.Minute, MaxAge: time.Hour, Count: 3}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"exchange":"binance","pair":"BTC/USDT","timeframe":"1h","candle_type":"spot","status":"stale","last":1704067200000,"last_close":1704070800000,"count":3,"age_seconds":5400,"max_age_seconds":3600}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(Freshness{Key: key("1h"), Status: Missing, MaxAge: time.Hour})
	if strings.Contains(string(b), "age_seconds\":0") || !strings.Contains(string(b), `"status":"missing"`) {
		t.Errorf("missing series JSON: %s", b)
	}
}

// Freqtrade's funding-rate and mark files: indicative series whose values
// may be zero or negative, with funding times stamped a few ms off the 8h
// grid.
func TestIndicativeSeries(t *testing.T) {
	s := openStore(t)
	for _, c := range []struct {
		file string
		k    Key
	}{
		{"XRP_USDT_USDT-8h-funding_rate.feather", Key{Exchange: "binance", Pair: "XRP/USDT:USDT", Timeframe: "8h", Type: FundingRate}},
		{"XRP_USDT_USDT-1h-mark.feather", Key{Exchange: "binance", Pair: "XRP/USDT:USDT", Timeframe: "1h", Type: Mark}},
	} {
		src := filepath.Join("../../testdata/binance/futures", c.file)
		f, err := datafile.LoadRange(src, datafile.Query{Pair: c.k.Pair, Timeframe: c.k.Timeframe, Kind: datafile.Indicative})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(context.Background(), c.k, f); err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		got := mustLoad(t, s, c.k, Range{})
		if got.Len() != f.Len() {
			t.Fatalf("%s: stored %d of %d", c.file, got.Len(), f.Len())
		}
		for i, ts := range got.Time {
			if !c.k.Timeframe.OnGrid(ts) || abs(ts-f.Time[i]) > 1000 || got.Open[i] != f.Open[i] {
				t.Fatalf("%s row %d: stored %d (%v), source %d (%v)", c.file, i+1, ts, got.Open[i], f.Time[i], f.Open[i])
			}
		}
		if _, err := os.Stat(filepath.Join(s.Dir(), "binance", "futures", c.file)); err != nil {
			t.Errorf("not stored in Freqtrade's futures layout: %v", err)
		}
		// Freqtrade's own file, read in place: the jitter is no gap.
		other := openStore(t)
		copyFile(t, src, filepath.Join(other.Dir(), "binance", "futures", c.file))
		info, err := other.Coverage(context.Background(), c.k)
		if err != nil || info.Count != f.Len() || !c.k.Timeframe.OnGrid(info.First) || !c.k.Timeframe.OnGrid(info.Last) {
			t.Errorf("%s in place: %+v, %v", c.file, info, err)
		}
		if want, _ := Gaps(got.Time, c.k.Timeframe); len(info.Gaps) != len(want) {
			t.Errorf("%s in place: %d gaps, stored copy has %d", c.file, len(info.Gaps), len(want))
		}
	}
	// Traded candles are not snapped: off the grid is an error.
	f := walk(3, "8h", t0, 1)
	f.Time[1] += 19
	if _, err := s.Append(context.Background(), key("8h"), f); err == nil {
		t.Error("off-grid spot candles accepted")
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestListEmpty(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "not", "yet"), nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.List(context.Background(), "")
	if err != nil || len(all.Series) != 0 {
		t.Errorf("a data folder that does not exist yet: %v, %v; want nothing and no error", all, err)
	}
	if _, err := s.List(context.Background(), "binance"); err == nil || !strings.Contains(err.Error(), "tradai data download") {
		t.Errorf("unknown exchange: %v", err)
	}
}

// A series read straight from the data directory has no exchange; a bad key
// is still refused, named as the caller wrote it.
func TestLoadWithoutExchange(t *testing.T) {
	s := openStore(t)
	f := walk(5, "5m", t0, 30)
	mustAppend(t, s, key("5m"), f)
	copyFile(t, filepath.Join(s.Dir(), "binance", "BTC_USDT-5m.feather"), filepath.Join(s.Dir(), "BTC_USDT-5m.feather"))
	sameCandles(t, mustLoad(t, s, Key{Pair: "BTC/USDT", Timeframe: "5m"}, Range{}), f)
	_, err := s.Load(context.Background(), Key{Pair: "BTC/USDT", Timeframe: "7m"}, Range{})
	if err == nil || !strings.Contains(err.Error(), `series  BTC/USDT 7m: unknown timeframe "7m"`) {
		t.Errorf("err = %v", err)
	}
}

// TestLockWaitsForOtherProcess checks the cross-process lock: a second
// store on the folder (another process) waits while the first holds it,
// gives up when its context ends, and gets it once it is released.
func TestLockWaitsForOtherProcess(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	release, err := a.lock(t.Context(), "binance")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := b.lock(ctx, "binance"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while the first is held: %v, want the context's deadline", err)
	}
	release()
	releaseB, err := b.lock(t.Context(), "binance")
	if err != nil {
		t.Fatalf("second lock after release: %v", err)
	}
	releaseB()
}

// A data folder that does not exist is said to be missing, not a series in it.
func TestLoadFromAMissingDataFolderSaysSo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no-such-folder")
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Load(context.Background(), Key{Exchange: "binance", Pair: "ETH/BTC", Timeframe: "5m"}, Range{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "the market data folder "+dir+" does not exist") {
		t.Fatalf("load from a missing folder: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("loading created the folder: %v", err)
	}
}

// A mapped series keeps its candles while the store writes the series: the
// store replaces the file by rename, and the mapping keeps the old one.
func TestMapKeepsCandlesAcrossAppend(t *testing.T) {
	s := openStore(t)
	k := key("5m")
	ctx := context.Background()
	if _, err := s.Map(ctx, k, Range{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("err %v, want ErrNotFound", err)
	}
	f := walk(1000, "5m", t0, 21)
	mustAppend(t, s, k, f)
	m, err := s.Map(ctx, k, Range{Start: f.Time[100]})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	}()
	sameCandles(t, m.Frame, f.Slice(100, 1000))
	// Appending rewrites the file with the old candles and new ones.
	more := walk(500, "5m", f.Time[999]+300_000, 22)
	mustAppend(t, s, k, more)
	sameCandles(t, m.Frame, f.Slice(100, 1000))
	now, err := s.Map(ctx, k, Range{Start: more.Time[0]})
	if err != nil {
		t.Fatal(err)
	}
	sameCandles(t, now.Frame, more)
	if err := now.Close(); err != nil {
		t.Error(err)
	}
	if _, err := s.Map(ctx, k, Range{Start: more.Time[499] + 1}); !errors.Is(err, datafile.ErrEmpty) {
		t.Errorf("empty range: err %v, want ErrEmpty", err)
	}
}
