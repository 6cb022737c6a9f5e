package hugepage

import (
	"bytes"
	"testing"
)

// Advise is only a hint: whatever the size and alignment, the buffer
// keeps its bytes and stays writable.
func TestAdviseKeepsTheBytes(t *testing.T) {
	for _, size := range []int{0, 1, 4 << 20, 5<<20 + 123, 16 << 20} {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(i * 7)
		}
		want := bytes.Clone(b)
		Advise(b)
		if len(b) > 1 {
			Advise(b[1:]) // unaligned
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("%d bytes: changed by the advice", size)
		}
		for i := range b {
			b[i] ^= 0xff
		}
	}
}
