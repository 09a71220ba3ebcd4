package ratelimit

import "time"

// bucket is a token bucket that may go into debt: a taker always gets its
// tokens at once and is told how long to wait before using them, so a
// request larger than the bucket waits longer instead of never starting,
// and takers are served in the order they came. Tokens given back (a call
// used less than it reserved) raise the level for later takers. All methods
// take the current time, so tests need no sleeping.
type bucket struct {
	rate     float64 // tokens per second; +Inf means no limit
	capacity float64
	level    float64
	last     time.Time
}

func newBucket(perMinute float64, capacity float64, now time.Time) *bucket {
	return &bucket{rate: perMinute / 60, capacity: capacity, level: capacity, last: now}
}

func (b *bucket) refill(now time.Time) {
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.level = min(b.capacity, b.level+elapsed*b.rate)
		b.last = now
	}
}

// take removes n tokens and returns how long the taker must wait until the
// level they left behind is paid back to zero.
func (b *bucket) take(now time.Time, n float64) time.Duration {
	b.refill(now)
	b.level -= n
	if b.level >= 0 {
		return 0
	}
	return time.Duration(-b.level / b.rate * float64(time.Second))
}

// give returns n tokens (or, when n is negative, takes -n more), never above
// capacity.
func (b *bucket) give(now time.Time, n float64) {
	b.refill(now)
	b.level = min(b.capacity, b.level+n)
}

// setRate changes the refill rate from now on.
func (b *bucket) setRate(now time.Time, perMinute float64) {
	b.refill(now)
	b.rate = perMinute / 60
}
