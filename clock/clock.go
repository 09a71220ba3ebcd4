// Package clock is the time a run keeps: the time now, and a wake-up after
// a while. Real is the system's; tests inject a fake one
// (internal/fakeclock), so hours of a run's intervals pass in
// microseconds.
package clock

import "time"

// Clock tells the time and wakes a waiter.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Real is the system's clock.
type Real struct{}

var _ Clock = Real{}

// Now is time.Now.
func (Real) Now() time.Time { return time.Now() }

// After is time.After.
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }
