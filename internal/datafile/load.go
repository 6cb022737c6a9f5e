package datafile

import (
	"fmt"
	"os"
	"path/filepath"
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

// Load reads the candle file at path, choosing the format from its
// extension (.feather, .parquet, .json, .json.gz or .csv), and returns its
// candles as a validated frame for pair and tf. Data problems are reported
// as a [*RowError] naming path. tf may be empty to skip the check that
// candles are at least one timeframe apart.
func Load(path, pair string, tf sdk.Timeframe) (*sdk.Frame, error) {
	if tf != "" && !tf.Valid() {
		return nil, fmt.Errorf("datafile: unknown timeframe %q", string(tf))
	}
	format, err := FormatOf(path)
	if err != nil {
		return nil, err
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
		return nil, fmt.Errorf("datafile: %s is a directory", path)
	}
	switch format {
	case Feather:
		return ReadFeather(fh, st.Size(), path, pair, tf)
	case Parquet:
		return ReadParquet(fh, st.Size(), path, pair, tf)
	case JSONGz:
		return ReadJSONGz(fh, path, pair, tf)
	case JSON:
		data := make([]byte, st.Size())
		if _, err := fh.ReadAt(data, 0); err != nil {
			return nil, &RowError{File: path, Msg: "read: " + err.Error(), Err: err}
		}
		return parseJSON(data, path, pair, tf)
	default:
		return ReadCSV(fh, path, pair, tf)
	}
}
