package datafile

import (
	"strings"

	"github.com/tradai/tradai/sdk"
)

// Extensions lists the data file extensions, in the order of preference
// in which the market data store looks for a series' file.
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
