//go:build !race

package images_test

const raceOn = false
