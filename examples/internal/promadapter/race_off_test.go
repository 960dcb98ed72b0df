//go:build !race

package promadapter_test

const raceEnabled = false
