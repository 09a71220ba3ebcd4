package manifest

import (
	"strings"
	"testing"
	"time"
)

func TestRunIDsSortByTimeAndDiffer(t *testing.T) {
	now := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	a, b := NewRunID(now), NewRunID(now)
	later := NewRunID(now.Add(time.Second))
	if a == b || !strings.HasPrefix(a, "20261125T200000Z-") || !(a[:16] < later[:16]) {
		t.Fatalf("run ids %q %q %q", a, b, later)
	}
}
