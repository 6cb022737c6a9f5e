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

// Make gives an empty slice of the capacity asked for, whatever the
// element size, and its elements zero.
func TestMake(t *testing.T) {
	type trade struct { // no pointers, an odd size
		a, b float64
		x    [13]byte
	}
	for _, n := range []int{0, 1, 1000, 1 << 20, 3_000_000, 5_000_001} {
		b := Make[bool](n)
		if len(b) != 0 || cap(b) != n {
			t.Fatalf("Make[bool](%d): len %d cap %d", n, len(b), cap(b))
		}
		b = b[:n]
		for i := range b {
			if b[i] {
				t.Fatalf("Make[bool](%d)[%d] is set", n, i)
			}
			b[i] = true
		}
		tr := Make[trade](n / 40)
		if len(tr) != 0 || cap(tr) != n/40 {
			t.Fatalf("Make[trade](%d): len %d cap %d", n/40, len(tr), cap(tr))
		}
		for range n / 40 {
			tr = append(tr, trade{a: 1, b: 2, x: [13]byte{3}})
		}
		if len(tr) > 0 && (tr[0].a != 1 || cap(tr) != n/40) {
			t.Fatalf("appending to Make[trade](%d) reallocated", n/40)
		}
	}
}
