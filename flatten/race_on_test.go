//go:build race

package flatten_test

const raceEnabled = true
