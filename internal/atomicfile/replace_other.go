//go:build !linux

package atomicfile

// replace does nothing here: the caller renames.
func replace(_, _ string) (bool, error) { return false, nil }
