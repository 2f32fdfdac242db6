//go:build !race

package blob_test

// raceEnabled reports whether the race detector is on; it slows the
// streaming test and adds shadow memory, so that test uploads less.
const raceEnabled = false
