package report

import "github.com/tradai/tradai/internal/trade"

// The numbers of a trade that the export writes with every digit, in this
// order: a chunk's are made together (numberChunk), apart from its other
// fields, so that the export's streaming can make them early.
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

// reset empties c for the next chunk, keeping its memory.
func (c *numberChunk) reset() { c.text, c.end = c.text[:0], c.end[:0] }

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
