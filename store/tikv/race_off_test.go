//go:build !race

package tikv

const raceEnabled = false
