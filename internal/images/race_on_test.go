//go:build race

package images_test

// raceOn: the race detector slows compressing the image layers tenfold;
// TestImages skips under it and make test runs it without.
const raceOn = true
