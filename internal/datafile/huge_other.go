//go:build !linux

package datafile

// adviseHuge is a no-op where transparent huge pages are not asked for.
func adviseHuge([]byte) {}
