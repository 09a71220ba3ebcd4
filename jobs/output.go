package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Lister lists the file names in an output location.
type Lister interface {
	List(ctx context.Context) ([]string, error)
}

// CheckOutputEmpty refuses an output location that already holds data
// files: a second run into it would write every record a second time.
// (Names starting with "_" are bookkeeping, with "." hidden files.)
func CheckOutputEmpty(ctx context.Context, output Lister) error {
	names, err := output.List(ctx)
	if err != nil {
		return fmt.Errorf("output %s: %w", output, err)
	}
	for _, name := range names {
		if !strings.HasPrefix(name, "_") && !strings.HasPrefix(name, ".") {
			return fmt.Errorf("output %s already holds %s: use an empty output", output, name)
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
