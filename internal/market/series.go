package market

import (
	"errors"
	"time"

	"github.com/tradai/tradai/sdk"
)

// Gap is a run of missing candles: the candles opening at From, From+tf, …
// up to but not including To are absent from a series.
type Gap struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// Candles returns how many candles of timeframe tf the gap is missing.
func (g Gap) Candles(tf sdk.Timeframe) int {
	n := 0
	for t := g.From; t < g.To; t = tf.Next(t) {
		n++
	}
	return n
}

// Series describes one stored series: what the index records about it.
type Series struct {
	Key
	// File is the series' data file, relative to the data directory.
	File string `json:"file"`
	// First and Last are the open times (Unix ms) of the first and last
	// candle; Count is the number of candles.
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	Count int   `json:"count"`
	// Gaps lists the missing ranges between First and Last; Missing is the
	// number of candles they miss.
	Gaps    []Gap `json:"gaps,omitempty"`
	Missing int   `json:"missing"`
	// Size is the data file's size in bytes, Updated its modification time.
	Size    int64     `json:"size"`
	Updated time.Time `json:"updated"`
	// Checksum is "sha256:" and the hex SHA-256 of the data file.
	Checksum string `json:"checksum"`
}

// Listing is what [Store.List] found: the series it could describe and the
// series files it could not read.
type Listing struct {
	Series     []Series
	Unreadable []Unreadable
}

// Unreadable is a series file that could not be read (corrupt, truncated,
// invalid candles, unreadable on disk).
type Unreadable struct {
	// Key is the series the file's name names.
	Key
	// File is the file, relative to the data directory.
	File string `json:"file"`
	// Error says why it could not be read, naming files relative to the
	// data directory.
	Error string `json:"error"`
}

// AppendResult says what an [Store.Append] changed.
type AppendResult struct {
	// Added is the number of new candles stored; Duplicates the number of
	// given candles that were already stored with identical values.
	Added      int
	Duplicates int
	// Series describes the series after the append.
	Series Series
}

// ErrNotFound means the store holds no such series.
var ErrNotFound = errors.New("no stored data")
