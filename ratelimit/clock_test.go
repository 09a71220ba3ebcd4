package ratelimit

import (
	"sync"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// fakeClock is a clock tests move by hand. Functions given to AfterFunc run
// in the goroutine that moves the clock, each at its own instant (Now
// reads that instant while it runs), in the order of their instants.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	seq    int
}

type fakeTimer struct {
	c    *fakeClock
	at   time.Time
	seq  int
	f    func()
	done bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(max(d, 0)), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	return true
}

// pending is how many timers are armed and not yet run or stopped.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.done {
			n++
		}
	}
	return n
}

// next runs the earliest pending timer no later than until, moving the
// clock to its instant; false when there is none.
func (c *fakeClock) next(until time.Time) bool {
	c.mu.Lock()
	var first *fakeTimer
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.done {
			continue
		}
		kept = append(kept, t)
		if !t.at.After(until) && (first == nil || t.at.Before(first.at) || t.at.Equal(first.at) && t.seq < first.seq) {
			first = t
		}
	}
	c.timers = kept
	if first == nil {
		c.mu.Unlock()
		return false
	}
	first.done = true
	if first.at.After(c.now) {
		c.now = first.at
	}
	c.mu.Unlock()
	first.f()
	return true
}

// advance moves the clock by d, running every timer due on the way.
func (c *fakeClock) advance(d time.Duration) {
	until := c.Now().Add(d)
	for c.next(until) {
	}
	c.mu.Lock()
	c.now = until
	c.mu.Unlock()
}
