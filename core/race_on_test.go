//go:build race

package main

// raceEnabled: client-go's in-process cluster runs tens of times slower
// under the race detector, so the many-cores tests shrink.
const raceEnabled = true
