//go:build race

package stagefile

const raceEnabled = true
