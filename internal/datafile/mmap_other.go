//go:build !linux

package datafile

import "os"

// mapFile maps nothing outside Linux: [MapRange] copies there.
func mapFile(*os.File, int64) []byte { return nil }

// unmapFile is never called with a mapping outside Linux.
func unmapFile([]byte) error { return nil }
