//go:build race

package coreclient

// raceEnabled makes the summary tests decode a sample of the catalogs:
// the race detector slows the decoding about tenfold.
const raceEnabled = true
