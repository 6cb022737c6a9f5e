//go:build !linux

package hugepage

// Advise is a no-op where transparent huge pages are not asked for.
func Advise([]byte) {}

// AdviseSlice is a no-op where transparent huge pages are not asked for.
func AdviseSlice[T any]([]T) {}

// Make returns make([]T, 0, n).
func Make[T any](n int) []T { return make([]T, 0, n) }

// Prime is a no-op where transparent huge pages are not asked for.
func Prime(int) {}
