package datafile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/tradai/tradai/sdk"
)

// Format is a data file format.
type Format string

// The supported formats.
const (
	Feather Format = "feather"
	Parquet Format = "parquet"
	JSON    Format = "json"
	JSONGz  Format = "json.gz"
	CSV     Format = "csv"
)

// FormatOf returns the format of path from its extension (case-insensitive).
func FormatOf(path string) (Format, error) {
	lower := strings.ToLower(path)
	for _, f := range []Format{Feather, Parquet, JSONGz, JSON, CSV} {
		if strings.HasSuffix(lower, "."+string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("datafile: %s: unknown data file format %q (want .feather, .parquet, .json, .json.gz or .csv)", path, filepath.Ext(path))
}

// Query selects what [LoadRange] returns.
type Query struct {
	// Pair and Timeframe are given to the frame. An empty Timeframe skips
	// the check that candles are at least one timeframe apart.
	Pair      string
	Timeframe sdk.Timeframe
	// Kind says which value checks apply.
	Kind Kind
	// Start and End select the candles whose open time (Unix ms) is in
	// [Start, End); 0 leaves that side open.
	Start, End int64
	// Inflate bounds what a compressed file may decompress to (zero:
	// the defaults).
	Inflate InflateLimit
}

// Load reads the candle file at path, choosing the format from its
// extension (.feather, .parquet, .json, .json.gz or .csv), and returns its
// candles as a validated frame for pair and tf. Data problems are reported
// as a [*RowError] naming path. tf may be empty to skip the check that
// candles are at least one timeframe apart. Load is [LoadRange] with
// [Candles] and an open range.
func Load(path, pair string, tf sdk.Timeframe) (*sdk.Frame, error) {
	return LoadRange(path, Query{Pair: pair, Timeframe: tf})
}

// LoadRange reads the candles of the file at path whose open time is in
// [q.Start, q.End) into a new frame for q.Pair and q.Timeframe, choosing
// the format from the file's extension like [Load].
//
// A feather file in the plain layout that [WriteFeather] writes without
// compression (uncompressed little-endian Arrow IPC; date as int64 or a
// timestamp; open, high, low, close and volume as float64 without nulls;
// no signal or enter_tag columns; any number of record batches) is read
// directly: the selected rows are found by binary search on the date
// column and copied from the file into the frame's columns by positional
// reads of 32,768 rows, every buffer checked against the file's size
// first. Any other file (LZ4 or ZSTD compressed, nulls, signal columns,
// parquet, json, csv) is read whole by the format's reader and cut to the
// range. Both ways give the same answer: a feather file the direct reader
// fails on (other than for an empty range) is read whole too, and its
// candles are returned when that reads them.
//
// Either way the rows are selected by binary search on the dates, and the
// returned candles, not the rest of the file, are checked as by
// [ValidateKind] with q.Kind; errors name path and the file's 1-based row.
// A selection without candles is a [*RowError] wrapping [ErrEmpty] that
// names the range. The frame owns its memory.
func LoadRange(path string, q Query) (*sdk.Frame, error) {
	fh, size, format, err := openData(path, q)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return loadRange(fh, size, format, path, q, nil)
}

// Mapped is candles read by [MapRange], owned by the caller until Close.
type Mapped struct {
	// Frame is the candles. Its columns may view a read-only mapping of
	// the file: they must not be changed (a write faults), nor used
	// after Close.
	Frame *sdk.Frame
	mem   []byte // the mapping the columns view, nil if none
}

// Close unmaps the file the frame views, if any, and clears Frame. It may
// be called more than once.
func (m *Mapped) Close() error {
	mem := m.mem
	m.Frame, m.mem = nil, nil
	if mem == nil {
		return nil
	}
	if err := unmapFile(mem); err != nil {
		return fmt.Errorf("datafile: unmapping candles: %w", err)
	}
	return nil
}

// MapRange is [LoadRange] without copying where it can: on Linux an
// uncompressed feather file in the plain layout is mapped into memory
// read-only, and when the selected rows lie in one record batch, the dates
// are in milliseconds, every column is 8-byte aligned (as [WriteFeather]
// writes them) and, for an indicative kind, no volume is NaN, the frame's
// columns view the mapping: no memory is allocated or zeroed for them and
// the kernel's page cache serves them. The candles are checked exactly as
// LoadRange checks them, and are equal to its. Any other file, or on other
// systems, is read by LoadRange's copying path.
//
// A mapping keeps the file it mapped (its inode) alive: a file replaced by
// renaming another over it, as the market data store and internal/atomicfile
// always do, is still read with its old values until Close. A file cut
// short in place while mapped would make reading the columns fault: only
// map files that are replaced by rename.
func MapRange(path string, q Query) (*Mapped, error) {
	fh, size, format, err := openData(path, q)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var mem []byte
	if format == Feather {
		mem = mapFile(fh, size)
	}
	f, err := loadRange(fh, size, format, path, q, mem)
	if mem != nil && (err != nil || !views(mem, f)) {
		if uerr := unmapFile(mem); uerr != nil && err == nil {
			err = fmt.Errorf("datafile: %s: unmapping: %w", path, uerr)
		}
		mem = nil
	}
	if err != nil {
		return nil, err
	}
	return &Mapped{Frame: f, mem: mem}, nil
}

// openData checks q and opens the data file at path for it, returning its
// size and format.
func openData(path string, q Query) (*os.File, int64, Format, error) {
	if q.Timeframe != "" && !q.Timeframe.Valid() {
		return nil, 0, "", fmt.Errorf("datafile: unknown timeframe %q", string(q.Timeframe))
	}
	if !q.Kind.valid() {
		return nil, 0, "", fmt.Errorf("datafile: unknown series kind %d", int(q.Kind))
	}
	if q.Start != 0 && q.End != 0 && q.End <= q.Start {
		return nil, 0, "", &RowError{File: path, Column: "date", Err: ErrEmpty,
			Msg: fmt.Sprintf("empty range: end %s is not after start %s", fmtTime(q.End), fmtTime(q.Start))}
	}
	format, err := FormatOf(path)
	if err != nil {
		return nil, 0, "", err
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, 0, "", err
	}
	st, err := fh.Stat()
	if err == nil && st.IsDir() {
		err = fmt.Errorf("datafile: %s is a directory", path)
	}
	if err != nil {
		_ = fh.Close()
		return nil, 0, "", err
	}
	return fh, st.Size(), format, nil
}

// loadRange is LoadRange on the size bytes of r, a file in format named
// name; mem is nil or those bytes mapped into memory, which the direct
// reader's columns may view (see readStored).
//
// The direct reader is an optimisation of the whole-file reader and must
// never answer differently: where it fails on a file (other than with an
// empty range), the whole-file reader gets the file too, and its candles
// are the answer when it reads them; otherwise the direct reader's error,
// which names the row or structure, is.
func loadRange(r io.ReaderAt, size int64, format Format, name string, q Query, mem []byte) (*sdk.Frame, error) {
	if format == Feather {
		f, ok, err := readStored(r, size, name, q, mem)
		switch {
		case !ok:
		case err == nil || errors.Is(err, ErrEmpty):
			return f, err
		default:
			if f, werr := loadWhole(r, size, format, name, q); werr == nil {
				return f, nil
			}
			return nil, err
		}
	}
	return loadWhole(r, size, format, name, q)
}

// loadWhole is loadRange by reading the whole file with the format's
// reader.
func loadWhole(r io.ReaderAt, size int64, format Format, name string, q Query) (*sdk.Frame, error) {
	f, err := readWhole(r, size, format, name, q.Pair, q.Timeframe, q.Kind, q.Inflate)
	if err != nil {
		return nil, err
	}
	n := f.Len()
	if n == 0 {
		return nil, &RowError{File: name, Column: "date", Msg: "no candles (empty file)", Err: ErrEmpty}
	}
	lo, hi := 0, n
	if q.Start != 0 {
		lo = sort.Search(n, func(i int) bool { return f.Time[i] >= q.Start })
	}
	if q.End != 0 {
		hi = sort.Search(n, func(i int) bool { return f.Time[i] >= q.End })
	}
	if lo >= hi {
		return nil, emptyRange(name, q, n, f.Time[0], f.Time[n-1])
	}
	if lo > 0 || hi < n {
		f = cutFrame(f, lo, hi)
	}
	if q.Kind.indicative() {
		zeroNaN(f.Volume)
	}
	if err := validate(f, name, q.Kind, lo); err != nil {
		return nil, err
	}
	return f, nil
}

// emptyRange is the error for a selection of q without candles in a file of
// n candles from first to last.
func emptyRange(name string, q Query, n int, first, last int64) *RowError {
	from, to := "the start", "the end"
	if q.Start != 0 {
		from = fmtTime(q.Start)
	}
	if q.End != 0 {
		to = fmtTime(q.End)
	}
	return &RowError{File: name, Column: "date", Err: ErrEmpty,
		Msg: fmt.Sprintf("no candles from %s to %s (the file's %d candles run from %s to %s)", from, to, n, fmtTime(first), fmtTime(last))}
}

// cutFrame returns a copy of rows [lo, hi) of f.
func cutFrame(f *sdk.Frame, lo, hi int) *sdk.Frame {
	c := &sdk.Frame{Pair: f.Pair, Timeframe: f.Timeframe}
	c.Time = slices.Clone(f.Time[lo:hi])
	c.Open, c.High, c.Low, c.Close, c.Volume = slices.Clone(f.Open[lo:hi]), slices.Clone(f.High[lo:hi]), slices.Clone(f.Low[lo:hi]), slices.Clone(f.Close[lo:hi]), slices.Clone(f.Volume[lo:hi])
	if f.HasSignals() {
		c.EnterLong, c.ExitLong = slices.Clone(f.EnterLong[lo:hi]), slices.Clone(f.ExitLong[lo:hi])
		c.EnterShort, c.ExitShort = slices.Clone(f.EnterShort[lo:hi]), slices.Clone(f.ExitShort[lo:hi])
	}
	if f.EnterTag != nil {
		c.EnterTag = slices.Clone(f.EnterTag[lo:hi])
	}
	return c
}

// zeroNaN replaces NaN values of v by 0.
func zeroNaN(v []float64) {
	for i, x := range v {
		if x != x {
			v[i] = 0
		}
	}
}

// readWhole reads the whole file (size bytes of r) in format without
// validating its values, reading nulls as kind allows and inflating no
// more than lim allows.
func readWhole(r io.ReaderAt, size int64, format Format, name, pair string, tf sdk.Timeframe, kind Kind, lim InflateLimit) (*sdk.Frame, error) {
	switch format {
	case Feather:
		return readFeather(r, size, name, pair, tf, kind, lim)
	case Parquet:
		return readParquet(r, size, name, pair, tf, kind, lim)
	case JSONGz:
		return readJSONGz(io.NewSectionReader(r, 0, size), size, name, pair, tf, kind, lim)
	case JSON:
		data := make([]byte, size)
		if err := readAt(r, data, 0); err != nil {
			return nil, &RowError{File: name, Msg: "read: " + err.Error(), Err: err}
		}
		return parseJSON(data, name, pair, tf, kind)
	default:
		return readCSV(io.NewSectionReader(r, 0, size), name, pair, tf, kind)
	}
}
