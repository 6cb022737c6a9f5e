// Package datafile finds, loads, validates and writes candle (OHLCV) data
// files in the layouts and formats that Freqtrade uses, so that data
// downloaded with Freqtrade can be backtested as is.
//
// # Layout
//
// [Resolve] maps a pair and timeframe to a file the way Freqtrade names them:
// <datadir>/<exchange>/<PAIR>-<timeframe>.<ext>, where PAIR is the pair with
// "/", ":" and a few other characters replaced by "_" (see [FileName]), for
// example data/binance/BTC_USDT_USDT-5m.feather for "BTC/USDT:USDT". It also
// looks directly in <datadir>, and for futures pairs in Freqtrade's futures/
// folder.
//
// # Formats
//
//   - feather (.feather): an Arrow IPC file (Feather v2) as written by pandas'
//     to_feather, with columns date (timestamp, any unit), open, high, low,
//     close and volume; LZ4_FRAME and ZSTD compressed buffers are supported.
//   - parquet (.parquet): the same columns.
//   - json (.json, .json.gz): Freqtrade's array of rows
//     [[ms, open, high, low, close, volume], ...].
//   - csv (.csv): a header row naming at least date, open, high, low, close
//     and volume (any order, any case); dates in ISO 8601 or epoch
//     milliseconds. The optional columns enter_long, exit_long, enter_short,
//     exit_short and enter_tag fill the frame's signal columns.
//
// [Load] picks the format from the file name; [ReadFeather], [ReadParquet],
// [ReadJSON] and [ReadCSV] read one format from an io.Reader or io.ReaderAt.
// [WriteFeather], [WriteParquet], [WriteJSON] and [WriteCSV] write them.
//
// # Stored series and ranges
//
// [LoadRange] reads the candles of a time range ([Query]). An uncompressed
// feather file as WriteFeather(w, f, false) writes it (one record batch,
// date as timestamp[ms, UTC], float64 OHLCV, a standard Arrow IPC file that
// pandas and Freqtrade read) is read directly: the range is found by binary
// search on the date column and each column's rows are copied from the file
// into the frame with one positional read, every buffer checked against the
// file's size first. Other files are read whole and cut to the range.
//
// [MapRange] is LoadRange without the copy: on Linux it maps such a file
// read-only and the frame's columns view the mapping (no memory allocated
// or zeroed for them; the same checks, the same candles), owned by the
// caller until [Mapped.Close]. A mapping keeps the file it mapped: the
// market data store replaces files only by renaming new ones over them.
//
// # Validation
//
// Every reader runs [Validate] before returning a frame, so a loaded frame
// always has sorted, unique, in-range timestamps no closer together than its
// timeframe, positive finite prices with low <= open, close <= high, and
// finite non-negative volume. [LoadRange] validates the candles it returns
// with the rules of a [Kind] ([CheckCandle], the one candle rule set):
// [Candles] as above, [IndicativePrices] for mark and index prices (positive
// finite prices, low <= high), or [Indicative] for premium-index prices and
// funding rates (finite prices of any sign); volume is finite and not
// negative, and for the indicative kinds a null or NaN volume reads as 0. Problems are reported as a
// [*RowError] naming the file, the 1-based data row and the column, for
// example
//
//	data/binance/ETH_BTC-5m.csv: row 17: high 0.051 is below low 0.052
package datafile
