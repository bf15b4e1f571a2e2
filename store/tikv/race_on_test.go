//go:build race

package tikv

// raceEnabled: the mock cluster runs tens of times slower under the race
// detector, so hot-key tests shrink.
const raceEnabled = true
