package ratelimit

import "time"

// bucket is a token bucket that may go into debt: a taker always gets its
// tokens at once and is told how long to wait before using them, so a
// request larger than the bucket waits longer instead of never starting,
// and takers are served in the order they came. Tokens given back (a call
// used less than it reserved) raise the level for later takers. All methods
// take the current time, so tests need no sleeping.
//
// A taker in debt waits for its place in line: paid counts every token
// that has come into the bucket, by refill or given back, and a taker may
// start once paid reaches the target it was given. Tokens given back while
// takers wait so bring every one of them forward, as Bedrock's own quota
// admits calls as soon as settled calls free their reservations; a wait
// fixed at take would keep takers waiting for tokens already back.
type bucket struct {
	rate     float64 // tokens per second; +Inf means no limit
	capacity float64
	level    float64
	paid     float64 // tokens that came in, by refill or give
	last     time.Time
}

func newBucket(perMinute float64, capacity float64, now time.Time) *bucket {
	return &bucket{rate: perMinute / 60, capacity: capacity, level: capacity, last: now}
}

func (b *bucket) refill(now time.Time) {
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		if add := min(b.capacity-b.level, elapsed*b.rate); add > 0 {
			b.level += add
			b.paid += add
		}
		b.last = now
	}
}

// take removes n tokens and returns how long the taker must wait, with no
// tokens given back meanwhile, until the level they left behind is paid
// back to zero, and the paid count that ends the wait (see remaining).
func (b *bucket) take(now time.Time, n float64) (time.Duration, float64) {
	b.refill(now)
	b.level -= n
	if b.level >= 0 {
		return 0, b.paid
	}
	return time.Duration(-b.level / b.rate * float64(time.Second)), b.paid - b.level
}

// remaining is how long a taker given target must still wait.
func (b *bucket) remaining(now time.Time, target float64) time.Duration {
	b.refill(now)
	if b.paid >= target {
		return 0
	}
	return time.Duration((target - b.paid) / b.rate * float64(time.Second))
}

// give returns n tokens (or, when n is negative, takes -n more), never above
// capacity; it reports whether waiting takers came closer to their turn.
func (b *bucket) give(now time.Time, n float64) bool {
	b.refill(now)
	add := min(b.capacity-b.level, n)
	b.level += add
	if add > 0 {
		b.paid += add
		return true
	}
	return false
}

// setRate changes the refill rate from now on.
func (b *bucket) setRate(now time.Time, perMinute float64) {
	b.refill(now)
	b.rate = perMinute / 60
}
