package datafile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tradai/tradai/sdk"
)

// Extensions lists the data file extensions that [Resolve] tries, in order of
// preference.
func Extensions() []string {
	return []string{"feather", "parquet", "json.gz", "json", "csv"}
}

// pairReplacer maps a pair to its file name part as Freqtrade's
// pair_to_filename does.
var pairReplacer = strings.NewReplacer("/", "_", " ", "_", ".", "_", "@", "_", "$", "_", "+", "_", ":", "_")

// PairFileName returns pair as it appears in data file names, with "/", ":"
// (and, as in Freqtrade, " ", ".", "@", "$" and "+") replaced by "_":
// "BTC/USDT:USDT" becomes "BTC_USDT_USDT".
func PairFileName(pair string) string { return pairReplacer.Replace(pair) }

// FileName returns the Freqtrade file name for pair, timeframe and extension
// (with or without a leading dot): FileName("BTC/USDT", "5m", "feather") is
// "BTC_USDT-5m.feather".
func FileName(pair string, tf sdk.Timeframe, ext string) string {
	return PairFileName(pair) + "-" + string(tf) + "." + strings.TrimPrefix(ext, ".")
}

// Candidates returns the paths [Resolve] tries, in order: each extension of
// [Extensions] in <datadir>/<exchange>/, then in <datadir>/, then, for a
// futures pair (one with a ":" settle currency), Freqtrade's futures layout
// <datadir>/<exchange>/futures/<PAIR>-<tf>-futures.<ext>. The exchange
// folder is skipped when exchange is empty.
func Candidates(datadir, exchange, pair string, tf sdk.Timeframe) []string {
	var dirs []string
	if exchange != "" {
		dirs = append(dirs, filepath.Join(datadir, exchange))
	}
	dirs = append(dirs, datadir)
	exts := Extensions()
	out := make([]string, 0, 2*len(dirs)*len(exts))
	for _, d := range dirs {
		for _, ext := range exts {
			out = append(out, filepath.Join(d, FileName(pair, tf, ext)))
		}
	}
	if strings.Contains(pair, ":") {
		for _, d := range dirs {
			for _, ext := range exts {
				out = append(out, filepath.Join(d, "futures", PairFileName(pair)+"-"+string(tf)+"-futures."+ext))
			}
		}
	}
	return out
}

// Resolve returns the path of the data file for pair and timeframe under
// datadir, trying the paths of [Candidates] in order and returning the first
// regular file that exists. When none exists the error wraps [ErrNotFound]
// and lists the paths tried.
func Resolve(datadir, exchange, pair string, tf sdk.Timeframe) (string, error) {
	if !tf.Valid() {
		return "", fmt.Errorf("datafile: unknown timeframe %q", string(tf))
	}
	if pair == "" {
		return "", fmt.Errorf("datafile: empty pair name")
	}
	tried := Candidates(datadir, exchange, pair, tf)
	for _, p := range tried {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w for %s %s (tried %s)", ErrNotFound, pair, tf, strings.Join(tried, ", "))
}
