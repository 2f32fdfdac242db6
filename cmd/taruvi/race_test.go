//go:build race

package main

// raceEnabled: the test binary runs under the race detector, so the
// binary the replica tests build does too (and reuses the same compiled
// packages).
const raceEnabled = true
