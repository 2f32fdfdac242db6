//go:build race

package api_test

// raceEnabled reports whether the race detector is on; it slows the
// streaming upload test and adds shadow memory, so that test uploads less.
const raceEnabled = true
