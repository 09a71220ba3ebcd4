//go:build race

package reader

func init() { raceEnabled = true }
