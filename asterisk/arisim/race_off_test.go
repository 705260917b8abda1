//go:build !race

package arisim_test

const raceEnabled = false
