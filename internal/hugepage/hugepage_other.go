//go:build !linux

package hugepage

// Advise is a no-op where transparent huge pages are not asked for.
func Advise([]byte) {}
