// Package ratelimit decides when the next Bedrock call may start, so a run
// keeps to the account's quota: calls wait in one queue per model, served
// first in, first out, each starting the moment the quota allows it; tokens
// are reserved before a call and settled after, as Bedrock counts them, and
// the run slows down when Bedrock throttles anyway. With no quota given it
// finds one: a careful start, then slow start, additive increase and one
// decrease per throttling episode. It is pure policy over an injected clock.
//
// Limiter does this for one quota; Models keeps one Limiter per model and
// adds what Bedrock counts: output-token burndown, the daily budget, and a
// learned correction of input-token estimates.
package ratelimit

import (
	"errors"
	"fmt"
	"time"
)

// Limits are the quotas a run keeps to; zero means not known.
type Limits struct {
	RequestsPerMinute int
	TokensPerMinute   int
	// Share is the part of the limits this worker may use: 1/N for one of
	// N shards of a job, whose limits are the whole job's quota. It is a
	// ceiling, not a start: without coordination a shard cannot know the
	// others have finished, and climbing above its share while they run
	// would overshoot the quota. 0 means 1.
	Share float64
}

func (l Limits) String() string {
	rpm, tpm := "unlimited", "unlimited"
	if l.RequestsPerMinute > 0 {
		rpm = fmt.Sprint(l.RequestsPerMinute)
	}
	if l.TokensPerMinute > 0 {
		tpm = fmt.Sprint(l.TokensPerMinute)
	}
	return fmt.Sprintf("requests/min %s, tokens/min %s", rpm, tpm)
}

// known reports whether any limit is given.
func (l Limits) known() bool { return l.RequestsPerMinute > 0 || l.TokensPerMinute > 0 }

// Clock tells the time and runs a function later; tests inject a fake one
// that moves only when told to.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f, in a goroutine of its own, once d has passed,
	// unless the returned Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not happened yet, and reports
	// whether it did so.
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

var _ Clock = realClock{}

// ErrTooLarge is returned for a call that reserves more tokens than the
// whole per-minute quota: it could never start.
var ErrTooLarge = errors.New("the request needs more tokens than the whole tokens-per-minute quota")
