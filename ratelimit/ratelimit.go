// Package ratelimit decides when the next Bedrock call may start, so a run
// keeps to the account's quota. It knows nothing else of the program.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// Limits are the quotas a run keeps to; zero means no limit.
type Limits struct {
	RequestsPerMinute int
}

func (l Limits) String() string {
	if l.RequestsPerMinute == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d requests/min", l.RequestsPerMinute)
}

// Limiter paces call starts evenly: a quota of 600 requests a minute lets one
// call start every 100 ms, never a minute's worth at once.
type Limiter struct {
	requests *rate.Limiter
}

// New returns a Limiter for limits.
func New(limits Limits) *Limiter {
	l := &Limiter{}
	if limits.RequestsPerMinute > 0 {
		every := time.Minute / time.Duration(limits.RequestsPerMinute)
		l.requests = rate.NewLimiter(rate.Every(every), 1)
	}
	return l
}

// Wait blocks until a call may start, or ctx is done.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil || l.requests == nil {
		return ctx.Err()
	}
	return l.requests.Wait(ctx)
}
