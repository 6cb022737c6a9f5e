// Package importer turns candle files that users bring into validated
// frames for the market data store:
//
//   - [Binance]: Binance public-data kline files (data.binance.vision), a
//     .zip of one or more .csv members or a bare .csv;
//   - [Yahoo]: Yahoo Finance CSV exports (Date,Open,High,Low,Close,Adj
//     Close,Volume);
//   - [CSV]: any delimited text file, given a column [Mapping];
//   - Freqtrade data files (.json, .json.gz, .feather, .parquet, .csv),
//     which [File] hands to datafile.Load.
//
// [File] opens a path and picks the importer from the format name or, when
// none is given, from the extension and the first line of the file.
//
// Every importer keeps the rows in file order and never sorts: rows out of
// order, duplicate times, times off the timeframe's candle grid, mixed
// timeframes, bad numbers, wrong column counts, and impossible candles are
// errors (a *datafile.RowError naming the file — "archive.zip:member.csv"
// for zip members —, the 1-based data row not counting a header line, and
// the column). The frame is finally checked with datafile.Validate. Rows
// that are skipped on purpose (Yahoo's null rows, Binance's incomplete last
// candle, blank lines) are counted in [Result.Skipped].
//
// Input is streamed in chunks and parsed by hand (no encoding/csv); large
// inputs are parsed on all CPUs while the checks run in file order, at
// several million rows per second. Only the frame is held in memory.
//
// A typical command:
//
//	m, err := importer.ParseMapping(flagMapping) // only for --format csv
//	res, err := importer.File(path, format, m, importer.Options{Pair: pair, Timeframe: tf})
//	fmt.Println(res.Summary())
//	// store res.Frame
package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/internal/market"
	"github.com/tradai/tradai/sdk"
)

// Format names an import format.
type Format string

// The import formats. The empty Format means "detect".
const (
	FormatBinance   Format = "binance"
	FormatYahoo     Format = "yahoo"
	FormatCSV       Format = "csv"
	FormatFreqtrade Format = "freqtrade"
)

// Formats lists the import formats.
func Formats() []Format {
	return []Format{FormatBinance, FormatYahoo, FormatCSV, FormatFreqtrade}
}

// ParseFormat validates a format name ("" or "auto" mean detect).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "", "auto":
		return "", nil
	case FormatBinance, FormatYahoo, FormatCSV, FormatFreqtrade:
		return f, nil
	}
	return "", fmt.Errorf("unknown import format %q (want binance, yahoo, csv or freqtrade)", s)
}

// Options are the settings every importer shares.
type Options struct {
	// Pair is set on the frame. Binance and Freqtrade imports derive it from
	// the file name when it is empty; the other formats leave it empty.
	Pair string
	// Timeframe of the candles. Binance and Freqtrade imports derive it from
	// the file name when it is empty, Yahoo defaults to "1d", CSV requires
	// it.
	Timeframe sdk.Timeframe
	// Kind says which value checks apply (datafile.CheckCandle): traded
	// candles (the zero value), indicative prices (mark and index) or
	// indicative series (premium index, funding rates); for the indicative
	// kinds an empty volume is 0. Freqtrade files whose names give a
	// candle type take that type's kind whatever this says.
	Kind datafile.Kind
	// Adjusted (Yahoo only) scales open, high, low and close by
	// Adj Close / Close, giving prices adjusted for splits and dividends.
	// Volume is kept as it is.
	Adjusted bool
	// Inflate bounds what a compressed file (a zip archive, a .json.gz,
	// a compressed feather or parquet file) may decompress to; zero
	// fields take datafile's defaults.
	Inflate datafile.InflateLimit
}

// Result is an imported frame and what was read to make it.
type Result struct {
	// Frame holds the candles, validated, with Pair and Timeframe set.
	Frame *sdk.Frame
	// Format is the importer that read the file.
	Format Format
	// Rows counts the data rows read (header lines not included), skipped
	// ones included.
	Rows int
	// Skipped lists the rows left out on purpose, by reason.
	Skipped []Skip
}

// Skip counts rows left out for one reason.
type Skip struct {
	// Reason says why, e.g. "null values (no prices for this date)".
	Reason string
	// Rows is how many rows were left out for this reason.
	Rows int
	// First locates the first of them ("file: row 12").
	First string
}

// SkippedRows returns the number of rows left out.
func (r *Result) SkippedRows() int {
	n := 0
	for _, s := range r.Skipped {
		n += s.Rows
	}
	return n
}

func where(file string, row int) string { return fmt.Sprintf("%s: row %d", file, row) }

// File imports the file at path. format chooses the importer; when it is
// empty, .zip files are Binance archives, .json, .json.gz, .feather and
// .parquet are Freqtrade files, and other files (.csv, .txt, …) are told
// apart by their first line: a non-empty mapping m means [CSV], a Yahoo
// header means [Yahoo], a Binance kline row or "open_time" header means
// [Binance], a date,open,high,low,close,volume header means Freqtrade.
// m is used by the csv format only. Errors name path.
func File(path string, format Format, m Mapping, opt Options) (*Result, error) {
	if format == "" {
		var err error
		if format, err = detect(path, m); err != nil {
			return nil, err
		}
	}
	if format == FormatFreqtrade {
		return freqtrade(path, opt)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("importer: %s is a directory", path)
	}
	switch format {
	case FormatBinance:
		return Binance(fh, st.Size(), path, opt)
	case FormatYahoo:
		return Yahoo(fh, path, opt)
	case FormatCSV:
		return CSV(fh, path, m, opt)
	}
	_, err = ParseFormat(string(format))
	return nil, err
}

// detect picks the format of path from its extension and first line.
func detect(path string, m Mapping) (Format, error) {
	lower := strings.ToLower(path)
	switch {
	case strings.HasSuffix(lower, ".zip"):
		return FormatBinance, nil
	case strings.HasSuffix(lower, ".json"), strings.HasSuffix(lower, ".json.gz"), strings.HasSuffix(lower, ".feather"), strings.HasSuffix(lower, ".parquet"):
		return FormatFreqtrade, nil
	case !m.IsZero():
		return FormatCSV, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	buf := make([]byte, 4096)
	n, err := io.ReadFull(fh, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", &datafile.RowError{File: path, Msg: "read: " + err.Error(), Err: err}
	}
	if f := sniff(buf[:n]); f != "" {
		return f, nil
	}
	if n == 0 {
		return "", &datafile.RowError{File: path, Msg: "empty file", Err: datafile.ErrEmpty}
	}
	return "", &datafile.RowError{File: path, Msg: "cannot tell the file's format from its first line: give the format (binance, yahoo, freqtrade, or csv with a column mapping)"}
}

// sniff tells the format from the start of a text file ("" if unknown).
func sniff(b []byte) Format {
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	line = bytes.TrimSpace(line)
	lower := strings.ToLower(string(line))
	fields := strings.Split(lower, ",")
	for i := range fields {
		fields[i] = strings.Trim(strings.TrimSpace(fields[i]), `"`)
	}
	has := func(names ...string) bool {
		for _, n := range names {
			found := false
			for _, f := range fields {
				found = found || f == n
			}
			if !found {
				return false
			}
		}
		return true
	}
	switch {
	case has("date", "open", "high", "low", "close", "adj close", "volume"):
		return FormatYahoo
	case len(fields) > 0 && fields[0] == "open_time":
		return FormatBinance
	case len(fields) == 12 && isNumeric([]byte(fields[0])) && isNumeric([]byte(fields[6])):
		return FormatBinance
	case has("date", "open", "high", "low", "close", "volume"):
		return FormatFreqtrade
	}
	return ""
}

// freqtrade loads a Freqtrade data file with datafile.Load, taking pair and
// timeframe from a Freqtrade file name (BTC_USDT-5m.feather,
// BTC_USDT_USDT-1h-futures.feather) when they are not given.
func freqtrade(path string, opt Options) (*Result, error) {
	pair, tf, kind := opt.Pair, opt.Timeframe, opt.Kind
	if k, ok := market.KeyOfPath(path); ok {
		if pair == "" {
			pair = k.Pair
		}
		if tf == "" {
			tf = k.Timeframe
		}
		kind = k.Type.Kind()
	}
	if tf == "" {
		return nil, fmt.Errorf("importer: %s: cannot tell the timeframe from the file name: give it", path)
	}
	f, err := datafile.LoadRange(path, datafile.Query{Pair: pair, Timeframe: tf, Kind: kind, Inflate: opt.Inflate})
	if err != nil {
		return nil, err
	}
	return &Result{Frame: f, Format: FormatFreqtrade, Rows: f.Len()}, nil
}

// Summary describes the import in one line for the user, e.g.
// "1440 candles 2024-01-01T00:00:00Z..2024-01-01T23:59:00Z from 1441 rows;
// skipped 1 row: incomplete last candle (…) (first at f.csv: row 1441)".
func (r *Result) Summary() string {
	var b strings.Builder
	f := r.Frame
	fmt.Fprintf(&b, "%d candles", f.Len())
	if f.Len() > 0 {
		fmt.Fprintf(&b, " %s..%s", fmtTime(f.Time[0]), fmtTime(f.Time[f.Len()-1]))
	}
	fmt.Fprintf(&b, " from %d rows", r.Rows)
	for i, s := range r.Skipped {
		if i == 0 {
			b.WriteString("; skipped ")
		} else {
			b.WriteString(", ")
		}
		plural := "s"
		if s.Rows == 1 {
			plural = ""
		}
		fmt.Fprintf(&b, "%d row%s: %s (first at %s)", s.Rows, plural, s.Reason, s.First)
	}
	return b.String()
}

// ParseDelimiter reads a field delimiter as a user writes it: a single
// character (",", ";", "|"), or "tab", `\t` or "space".
func ParseDelimiter(s string) (byte, error) {
	switch strings.ToLower(s) {
	case "", ",", "comma":
		return ',', nil
	case "tab", `\t`, "\t":
		return '\t', nil
	case "space", " ":
		return ' ', nil
	case "semicolon":
		return ';', nil
	}
	if len(s) == 1 && s[0] != '"' && s[0] != '\n' && s[0] != '\r' && s[0] < 0x80 {
		return s[0], nil
	}
	return 0, fmt.Errorf("delimiter %q is not a single ASCII character (or tab, space)", s)
}
