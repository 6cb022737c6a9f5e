package importer

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/klauspost/compress/zip"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tradai/tradai/internal/binance"
	"github.com/tradai/tradai/internal/datafile"
	"github.com/tradai/tradai/sdk"
)

// binanceCols names the first seven of the twelve columns of a Binance
// kline row, as in the header line newer files have.
var binanceCols = [7]string{"open_time", "open", "high", "low", "close", "volume", "close_time"}

const binanceNumCols = 12

// Binance imports a Binance public-data kline file (data.binance.vision):
// a .zip archive holding one or more .csv members (read in name order, which
// for Binance's names is time order; other members are ignored) or a bare
// .csv, told apart by content. name identifies the file in errors and, when
// opt leaves them empty, gives the pair and timeframe (see
// [ParseBinanceName] and [binance.Pair]).
//
// Rows have 12 columns; only the first seven are parsed (open time, open,
// high, low, close, volume, close time). A header line starting with
// "open_time" is accepted. Open and close times are in milliseconds or, in
// newer files, microseconds; the unit is told per row by magnitude (1e14
// and above is µs) and the frame gets milliseconds.
//
// The close time must be the candle's end minus one unit (next open − 1 ms
// or − 1 µs), which catches files of another interval. Only the file's last
// row may close earlier: it is an incomplete candle (the file was cut while
// the candle was open), which is left out and reported in
// [Result.Skipped], because its high, low, close and volume are not final.
func Binance(r io.ReaderAt, size int64, name string, opt Options) (*Result, error) {
	pair, tf, err := binanceSeries(name, opt)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, &datafile.RowError{File: name, Msg: "empty file", Err: datafile.ErrEmpty}
	}
	var magic [4]byte
	n, _ := r.ReadAt(magic[:], 0)
	if n >= 2 && magic[0] == 'P' && magic[1] == 'K' {
		return binanceZip(r, size, name, pair, tf, opt)
	}
	p := binanceReader{b: newBuilder(tf, opt.Kind, 0)}
	if err := p.parse(io.NewSectionReader(r, 0, size), size, name); err != nil {
		return nil, err
	}
	return p.finish(name, pair)
}

func binanceZip(r io.ReaderAt, size int64, name, pair string, tf sdk.Timeframe, opt Options) (*Result, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, &datafile.RowError{File: name, Msg: "not a readable zip archive (truncated or damaged download?): " + err.Error(), Err: fmt.Errorf("%w: %w", datafile.ErrCorrupt, err)}
	}
	var members []*zip.File
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() && strings.HasSuffix(strings.ToLower(f.Name), ".csv") {
			members = append(members, f)
		}
	}
	if len(members) == 0 {
		return nil, &datafile.RowError{File: name, Msg: "the zip archive holds no .csv file", Err: datafile.ErrEmpty}
	}
	sort.SliceStable(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	var total uint64
	for _, f := range members {
		total += f.UncompressedSize64
	}
	// Declared sizes can lie: kline CSV compresses about 5-8 times.
	p := binanceReader{b: newBuilder(tf, opt.Kind, 0), total: min(int64(min(total, 1<<40)), size*20)}
	// The members together inflate no more than the archive's budget.
	budget := opt.Inflate.Budget(name, size)
	for _, f := range members {
		file := name + ":" + f.Name
		rc, err := f.Open()
		if err != nil {
			return nil, &datafile.RowError{File: file, Msg: "cannot open the archive member: " + err.Error(), Err: fmt.Errorf("%w: %w", datafile.ErrCorrupt, err)}
		}
		err = p.parse(budget.Reader(rc), min(int64(min(f.UncompressedSize64, 1<<40)), size*20), file)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	return p.finish(name, pair)
}

// binanceSeries returns the pair and timeframe from opt, or else from name.
func binanceSeries(name string, opt Options) (string, sdk.Timeframe, error) {
	pair, tf := opt.Pair, opt.Timeframe
	if pair == "" || tf == "" {
		sym, ntf, err := ParseBinanceName(name)
		if err != nil {
			what := "timeframe"
			if tf != "" {
				what = "pair"
			}
			return "", "", &datafile.RowError{File: name, Msg: fmt.Sprintf("give the %s: %v", what, err), Err: err}
		}
		if tf == "" {
			tf = ntf
		}
		if pair == "" {
			if pair, err = binance.Pair(sym); err != nil {
				return "", "", &datafile.RowError{File: name, Msg: err.Error(), Err: err}
			}
		}
	}
	if !tf.Valid() {
		return "", "", &datafile.RowError{File: name, Msg: fmt.Sprintf("unknown timeframe %q (supported: %v)", string(tf), sdk.Timeframes())}
	}
	return pair, tf, nil
}

// binanceReader parses the kline rows of one or more files into a builder.
type binanceReader struct {
	b     *builder
	rows  int
	sk    skips
	total int64 // bytes of all members, to size the frame
	// partialFile and partialRow locate the last row added when it is an
	// incomplete candle (partialRow 0 otherwise).
	partialFile string
	partialRow  int
	partialMsg  string
}

func (p *binanceReader) finish(name, pair string) (*Result, error) {
	if p.partialRow > 0 {
		f := p.b.f
		n := f.Len() - 1
		f.Time, f.Open, f.High, f.Low, f.Close, f.Volume = f.Time[:n], f.Open[:n], f.High[:n], f.Low[:n], f.Close[:n], f.Volume[:n]
		p.sk.add(fmt.Sprintf("incomplete last candle (its close time is before the end of the %s candle)", p.b.g.tf), where(p.partialFile, p.partialRow))
	}
	return p.b.finish(name, pair, FormatBinance, p.rows, p.sk)
}

func binanceColErr(file string, row, col int, msg string) error {
	return &datafile.RowError{File: file, Row: row, Column: binanceCols[col], Msg: fmt.Sprintf("column %d (%s): %s", col+1, binanceCols[col], msg)}
}

// parse reads the kline rows of r (about size bytes), which is file.
func (p *binanceReader) parse(r io.Reader, size int64, file string) error {
	lr := newLineReader(r, size)
	lr.fill()
	b := p.b
	b.reserve(lr.estimate(max(size, p.total)))
	if d := lr.data; len(d) >= 9 && strings.EqualFold(bstr(d[:9]), "open_time") {
		if i := bytes.IndexByte(d, '\n'); i >= 0 {
			lr.data = d[i+1:]
		} else if lr.eof {
			lr.data = nil
		}
	}

	// parse turns lines into records; it runs on several goroutines.
	parse := func(c *chunk) {
		var fields [len(binanceCols)][]byte
		c.recs = c.records()
		forEachLine(c.data, c.row0, func(line []byte, row int) bool {
			if len(line) == 0 {
				c.recs = append(c.recs, rec{row: row, kind: recBlank})
				return true
			}
			if nf := bytes.Count(line, []byte{','}) + 1; nf != binanceNumCols {
				c.err = &datafile.RowError{File: file, Row: row, Msg: fmt.Sprintf("row has %d columns but a Binance kline row has %d (open time, open, high, low, close, volume, close time, quote volume, trades, taker buy base volume, taker buy quote volume, ignore)", nf, binanceNumCols)}
				return false
			}
			// Cut the seven columns read; each is followed by a comma.
			rest := line
			for k := range fields {
				i := bytes.IndexByte(rest, ',')
				fields[k], rest = rest[:i], rest[i+1:]
			}
			raw, ok := parseInt(fields[0])
			if !ok {
				c.err = binanceColErr(file, row, 0, intProblem(fields[0]))
				return false
			}
			unit, scale := unitMillis, int64(1)
			if raw >= 100_000_000_000_000 || raw <= -100_000_000_000_000 {
				unit, scale = unitMicros, 1000
			}
			t, ok := unit.toMillis(raw)
			if !ok {
				c.err = binanceColErr(file, row, 0, fmt.Sprintf("%d µs is not a whole millisecond", raw))
				return false
			}
			var v [5]float64
			for k := range 5 {
				x, ok := parseFloat(fields[1+k])
				if !ok {
					c.err = binanceColErr(file, row, 1+k, numProblem(fields[1+k]))
					return false
				}
				v[k] = x
			}
			ct, ok := parseInt(fields[6])
			if !ok {
				c.err = binanceColErr(file, row, 6, intProblem(fields[6]))
				return false
			}
			c.recs = append(c.recs, rec{t: t, o: v[0], h: v[1], l: v[2], c: v[3], v: v[4], ct: ct, scale: scale, row: row})
			return true
		})
	}

	// consume checks records in file order and adds them to the frame.
	blank, lastRow := 0, 0
	consume := func(c *chunk) error {
		for i := range c.recs {
			r := &c.recs[i]
			if r.kind == recBlank {
				blank++
				if blank == 1 {
					p.sk.pend("blank line", where(file, r.row))
				}
				continue
			}
			if blank > 0 {
				p.sk.flush(blank)
				blank = 0
			}
			lastRow = r.row
			if p.partialRow > 0 {
				return &datafile.RowError{File: p.partialFile, Row: p.partialRow, Column: "close_time", Msg: p.partialMsg + ": only the last candle of a file may be incomplete"}
			}
			if err := b.add(file, r.row, "open_time", r.t, r.o, r.h, r.l, r.c, r.v); err != nil {
				return err
			}
			ct, scale, t := r.ct, r.scale, r.t
			if want := b.g.next(t)*scale - 1; ct != want {
				if ct >= t*scale && ct < want {
					p.partialFile, p.partialRow = file, r.row
					p.partialMsg = fmt.Sprintf("close time %d is before the end of the %s candle opening at %s (%d)", ct, b.g.tf, fmtTime(t), want)
					continue
				}
				u := "ms"
				if scale != 1 {
					u = "µs"
				}
				return binanceColErr(file, r.row, 6, fmt.Sprintf("close time %d does not fit a %s candle opening at %s (want %d, the next open time minus 1 %s; this candle spans %s): is the interval %s right?", ct, b.g.tf, fmtTime(t), want, u, fmtGap((ct+1)/scale-t), b.g.tf))
			}
		}
		return nil
	}

	if err, readErr := run(lr, 0, parse, consume); err != nil {
		return err
	} else if errors.Is(readErr, datafile.ErrTooLarge) {
		return readErr
	} else if readErr != nil {
		return &datafile.RowError{File: file, Msg: "cannot read (truncated or damaged file?): " + readErr.Error(), Err: fmt.Errorf("%w: %w", datafile.ErrCorrupt, readErr)}
	}
	if lastRow == 0 {
		return &datafile.RowError{File: file, Msg: "no candles: the file has no data rows", Err: datafile.ErrEmpty}
	}
	p.rows += lastRow
	return nil
}

func intProblem(b []byte) string {
	if len(bytes.TrimSpace(b)) == 0 {
		return "is empty"
	}
	return quote(b) + " is not a whole number"
}

func numProblem(b []byte) string {
	if len(bytes.TrimSpace(b)) == 0 {
		return "is empty"
	}
	return quote(b) + " is not a number"
}

// ParseBinanceName reads the symbol and interval from a Binance public-data
// kline file name: "BTCUSDT-1m-2024-01.zip" (monthly) or
// "BTCUSDT-1m-2024-01-15.csv" (daily); directories are ignored.
func ParseBinanceName(name string) (symbol string, tf sdk.Timeframe, err error) {
	base := filepath.Base(name)
	stem := base
	for _, ext := range []string{".zip", ".csv"} {
		if len(stem) > len(ext) && strings.EqualFold(stem[len(stem)-len(ext):], ext) {
			stem = stem[:len(stem)-len(ext)]
		}
	}
	parts := strings.Split(stem, "-")
	bad := fmt.Errorf("file name %q is not a Binance kline file name like BTCUSDT-1m-2024-01.zip or BTCUSDT-1m-2024-01-15.zip", base)
	if len(parts) != 4 && len(parts) != 5 {
		return "", "", bad
	}
	for i, n := range []int{4, 2, 2}[:len(parts)-2] {
		if p := parts[2+i]; len(p) != n || strings.Trim(p, "0123456789") != "" {
			return "", "", bad
		}
	}
	symbol = parts[0]
	if symbol == "" || strings.IndexFunc(symbol, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') }) >= 0 {
		return "", "", bad
	}
	if tf, err = ParseBinanceInterval(parts[1]); err != nil {
		return "", "", fmt.Errorf("file name %q: %w", base, err)
	}
	return symbol, tf, nil
}

// ParseBinanceInterval converts a Binance kline interval ("1m" … "1w",
// "1mo" or "1M" for months) to a timeframe.
func ParseBinanceInterval(s string) (sdk.Timeframe, error) {
	if s == "1mo" {
		return "1M", nil
	}
	tf := sdk.Timeframe(s)
	if !tf.Valid() {
		return "", fmt.Errorf("unknown Binance interval %q (want 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w or 1mo)", s)
	}
	return tf, nil
}
