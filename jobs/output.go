package jobs

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NewRunID returns an id that sorts by start time and does not clash between
// runs started in the same second: 20261125T200000Z-a1b2c3.
func NewRunID(now time.Time) string {
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(suffix[:])
}
