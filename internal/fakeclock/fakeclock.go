// Package fakeclock is a clock that tests move by hand: Now and After as
// the real clock has them, and Next, which jumps to the earliest waiter's
// time and wakes it, so a loop that sleeps on the clock runs its hours in
// microseconds and in a fixed order.
package fakeclock

import (
	"slices"
	"sync"
	"time"
)

// Clock is a fake clock, safe for concurrent use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	waiting chan struct{} // closed and replaced when a waiter is added
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// New returns a clock at start.
func New(start time.Time) *Clock { return &Clock{now: start, waiting: make(chan struct{})} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that gets the time once the clock reaches now+d.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	close(c.waiting)
	c.waiting = make(chan struct{})
	return ch
}

// Advance moves the clock by d and wakes every waiter whose time came.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []waiter
	c.waiters = slices.DeleteFunc(c.waiters, func(w waiter) bool {
		if !w.at.After(c.now) {
			due = append(due, w)
			return true
		}
		return false
	})
	now := c.now
	c.mu.Unlock()
	for _, w := range due {
		w.ch <- now
	}
}

// Next moves the clock to the earliest waiter's time and wakes it. It
// waits for a waiter when there is none yet, and reports false if done is
// closed first.
func (c *Clock) Next(done <-chan struct{}) bool {
	for {
		c.mu.Lock()
		if len(c.waiters) > 0 {
			slices.SortFunc(c.waiters, func(a, b waiter) int { return a.at.Compare(b.at) })
			w := c.waiters[0]
			c.waiters = c.waiters[1:]
			if w.at.After(c.now) {
				c.now = w.at
			}
			c.mu.Unlock()
			w.ch <- w.at
			return true
		}
		waiting := c.waiting
		c.mu.Unlock()
		select {
		case <-waiting:
		case <-done:
			return false
		}
	}
}

// Waiters is how many callers of After wait.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}
