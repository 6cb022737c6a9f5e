package binance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Klines is a decoded klines answer (/api/v3/klines, /fapi/v1/klines, mark,
// index and premium index klines): rows of [openTime, "open", "high",
// "low", "close", "volume", closeTime, …]. Rows are read one at a time with
// [Klines.Row], so a caller can put the numbers straight where it needs
// them.
type Klines [][]json.RawMessage

// Kline is one row of a klines answer.
type Kline struct {
	// OpenTime is the candle's open time in Unix milliseconds.
	OpenTime int64
	// Open, High, Low, Close and Volume are the numbers as sent: the text of
	// a JSON string (Binance's form, "12.50000000") or of a bare JSON
	// number. They are not checked to be numbers.
	Open, High, Low, Close, Volume []byte
}

// DecodeKlines decodes a klines answer. Its errors wrap [ErrUndecodable].
func DecodeKlines(body []byte) (Klines, error) {
	var rows Klines
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, fmt.Errorf("%w: %w (body starts %q)", ErrUndecodable, err, shorten(string(body), 80))
	}
	return rows, nil
}

// Len is the number of rows.
func (ks Klines) Len() int { return len(ks) }

// Row reads row i (0-based). Its errors wrap [ErrUndecodable] and name the
// row 1-based, as it is shown with [Klines.Raw].
func (ks Klines) Row(i int) (Kline, error) {
	cells := ks[i]
	if len(cells) < 6 {
		return Kline{}, fmt.Errorf("%w: row %d %s has %d values, want at least 6", ErrUndecodable, i+1, ks.Raw(i), len(cells))
	}
	t, err := strconv.ParseInt(string(cells[0]), 10, 64)
	if err != nil {
		return Kline{}, fmt.Errorf("%w: row %d %s: open time %s is not an integer", ErrUndecodable, i+1, ks.Raw(i), cells[0])
	}
	k := Kline{OpenTime: t}
	for j, dst := range [...]*[]byte{&k.Open, &k.High, &k.Low, &k.Close, &k.Volume} {
		if *dst, err = number(cells[j+1]); err != nil {
			return Kline{}, fmt.Errorf("%w: row %d %s: value %d %s is not a number", ErrUndecodable, i+1, ks.Raw(i), j+2, cells[j+1])
		}
	}
	return k, nil
}

// Raw is row i as received, shortened to 200 bytes.
func (ks Klines) Raw(i int) string {
	parts := make([]string, len(ks[i]))
	for j, c := range ks[i] {
		parts[j] = string(c)
	}
	return shorten("["+strings.Join(parts, ",")+"]", 200)
}

// number returns the text of a JSON string or number cell.
func number(c json.RawMessage) ([]byte, error) {
	if len(c) == 0 {
		return nil, errors.New("empty value")
	}
	switch {
	case c[0] == '"':
		if len(c) >= 2 && c[len(c)-1] == '"' && bytes.IndexByte(c[1:len(c)-1], '\\') < 0 {
			return c[1 : len(c)-1], nil
		}
		var s string
		if err := json.Unmarshal(c, &s); err != nil {
			return nil, err
		}
		return []byte(s), nil
	case c[0] == '-' || c[0] >= '0' && c[0] <= '9':
		return c, nil
	}
	return nil, fmt.Errorf("%s is neither a string nor a number", c)
}
