package jobs

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"
)

// PrepareOutput creates the output directory and refuses one that already
// holds data files: a second run into the same directory would write every
// record a second time. (Files starting with "_" are bookkeeping.)
func PrepareOutput(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "_") && !strings.HasPrefix(e.Name(), ".") {
			return fmt.Errorf("output directory %s already holds %s: use an empty directory", dir, e.Name())
		}
	}
	return nil
}

// NewRunID returns an id that sorts by start time and does not clash between
// runs started in the same second: 20261125T200000Z-a1b2c3.
func NewRunID(now time.Time) string {
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(suffix[:])
}
