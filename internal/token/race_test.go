//go:build race

package token_test

// raceEnabled reports whether the race detector is on; it slows CPU-bound
// code about tenfold, so timing tests scale their bounds by it.
const raceEnabled = true
