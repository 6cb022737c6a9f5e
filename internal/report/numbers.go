package report

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/tradai/tradai/internal/trade"
)

// The numbers of a trade that both the export and the report's trade list
// write with every digit, in this order: made once for both.
const (
	numOpenRate = iota
	numCloseRate
	numStake
	numProfitRatio
	numProfitAbs
	numberFields
)

// numberChunk holds the texts of the numberFields of tradesPerPiece
// trades (the last chunk fewer), as appendJSONFloat writes them; "" for a
// number that is not finite.
type numberChunk struct {
	text []byte
	end  []uint32 // field k of the chunk's trade i ends at end[i*numberFields+k]
}

// field is the text of field k of the chunk's trade i.
func (c *numberChunk) field(i, k int) []byte {
	j := i*numberFields + k
	var start uint32
	if j > 0 {
		start = c.end[j-1]
	}
	return c.text[start:c.end[j]]
}

// tradeNumbers makes the texts of the numbers of ts, a chunk of
// tradesPerPiece trades at a time on up to GOMAXPROCS goroutines.
func tradeNumbers(ts []trade.Trade) []numberChunk {
	chunks := make([]numberChunk, (len(ts)+tradesPerPiece-1)/tradesPerPiece)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(chunks)) {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < len(chunks); k = int(next.Add(1) - 1) {
				lo, hi := k*tradesPerPiece, min((k+1)*tradesPerPiece, len(ts))
				c := numbersOf(ts[lo:hi])
				chunks[k] = c
			}
		})
	}
	wg.Wait()
	return chunks
}

// numbersOf is the numberChunk of ts, a chunk's trades.
func numbersOf(ts []trade.Trade) numberChunk {
	c := newNumberChunk(len(ts))
	for i := range ts {
		c.add(tradeNumberValues(&ts[i]))
	}
	return c
}

// newNumberChunk returns an empty numberChunk for n trades.
func newNumberChunk(n int) numberChunk {
	return numberChunk{text: make([]byte, 0, n*numberFields*20), end: make([]uint32, 0, n*numberFields)}
}

// tradeNumberValues is the numberFields of t.
func tradeNumberValues(t *trade.Trade) [numberFields]float64 {
	return [numberFields]float64{t.OpenRate, t.CloseRate, t.Stake, t.ProfitRatio, t.ProfitAbs}
}

// add appends the texts of the next trade's numbers, xs.
func (c *numberChunk) add(xs [numberFields]float64) {
	for _, x := range xs {
		if isFinite(x) {
			c.text = appendJSONFloat(c.text, x)
		}
		c.end = append(c.end, uint32(len(c.text)))
	}
}

// numberColumn is field k of every trade, by trade.
func numberColumn(chunks []numberChunk, k int) func(i int) []byte {
	return func(i int) []byte { return chunks[i/tradesPerPiece].field(i%tradesPerPiece, k) }
}

// appendGText appends the finite x as strconv.AppendFloat(b, x, 'g', -1,
// 64) does, copying text, x as appendJSONFloat writes it, when the two
// are the same: from 1e-4 to under 1e6 (by its shortest digits) both
// write every digit without an exponent.
func appendGText(b []byte, x float64, text []byte) []byte {
	if sameAsG(text) {
		return append(b, text...)
	}
	return strconv.AppendFloat(b, x, 'g', -1, 64)
}

// sameAsG reports whether text, appendJSONFloat's of a number, is also
// what 'g' formatting writes: no exponent, and the first digit's place
// from 10^-4 to 10^5.
func sameAsG(text []byte) bool {
	s := text
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || bytes.IndexByte(s, 'e') >= 0 {
		return false
	}
	if s[0] == '0' {
		if len(s) == 1 {
			return true
		}
		zeros := 0 // after the point: the first digit is at 10^-(zeros+1)
		for _, c := range s[2:] {
			if c != '0' {
				break
			}
			zeros++
		}
		return zeros <= 3
	}
	whole := bytes.IndexByte(s, '.')
	if whole < 0 {
		whole = len(s)
	}
	return whole <= 6
}
