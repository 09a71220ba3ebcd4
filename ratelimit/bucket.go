package ratelimit

import (
	"math"
	"time"
)

// burst is the limiter's own burst: a bucket holds this much of its rate,
// so no more than one second of quota ever starts at once, however long
// calls waited. Bedrock's own bucket is at least as large (the emulator's
// default is 2 s): a limiter that never holds more than Bedrock can never
// admit a call Bedrock would refuse.
const burst = time.Second

// epsilon absorbs floating-point rounding when a timer fires at the very
// instant a bucket was computed to hold enough.
const epsilon = 1e-6

// never is the wait for a bucket that does not refill.
const never = time.Duration(math.MaxInt64)

// bucket is a token bucket as Bedrock keeps one: it starts full, refills
// continuously up to its capacity, and admits a taker only when it holds
// the taker's tokens (no debt at admission); a taker larger than the whole
// bucket is admitted into a full one. Tokens given back (a call used less
// than it reserved) raise the level and start waiting takers at once; a
// call that used more takes the difference, which may leave the level
// below zero.
// All methods take the current time, so tests need no sleeping.
type bucket struct {
	rate     float64 // per second
	capacity float64
	level    float64
	last     time.Time
	floor    float64 // the smallest capacity (one request for a request bucket)
}

func newBucket(perSecond, floor float64, now time.Time) *bucket {
	b := &bucket{rate: perSecond, floor: floor, last: now}
	b.capacity = b.capacityAt(perSecond)
	b.level = b.capacity
	return b
}

func (b *bucket) capacityAt(perSecond float64) float64 {
	return max(perSecond*burst.Seconds(), b.floor)
}

func (b *bucket) refill(now time.Time) {
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		if b.level < b.capacity {
			b.level = min(b.capacity, b.level+elapsed*b.rate)
		}
		b.last = now
	}
}

// need is what the bucket must hold before a taker of n may start.
func (b *bucket) need(n float64) float64 { return min(n, b.capacity) }

// fits reports whether a taker of n may start now (after refill).
func (b *bucket) fits(n float64) bool { return b.level >= b.need(n)-epsilon }

// until is how long, from the last refill, before a taker of n fits with
// no tokens given back meanwhile.
func (b *bucket) until(n float64) time.Duration {
	short := b.need(n) - b.level
	if short <= epsilon {
		return 0
	}
	if b.rate <= 0 {
		return never
	}
	return time.Duration(math.Ceil(short / b.rate * float64(time.Second)))
}

func (b *bucket) take(n float64) { b.level -= n }

// give returns n tokens (a negative n takes -n more). Calls waiting may
// use them at once, as Bedrock admits calls when settled ones free their
// reservations, up to a second burst more than the bucket holds; what
// none takes is kept up to capacity (clamp). Bedrock's bucket holds two
// seconds of quota in the emulator's reading and a minute in the
// per-minute one: the limiter's never holds more than it.
func (b *bucket) give(now time.Time, n float64) {
	b.refill(now)
	b.level = min(b.level+n, 2*b.capacity)
}

// clamp keeps what no waiting call took within capacity.
func (b *bucket) clamp() { b.level = min(b.level, b.capacity) }

// resync gives back n tokens of a call Bedrock refused and then trusts
// Bedrock over the bucket's own count: a refusal means Bedrock's bucket
// did not hold the call, so this one is taken to be empty too.
func (b *bucket) resync(now time.Time, n float64) {
	b.give(now, n)
	b.level = min(b.level, 0)
}

// setRate changes the refill rate from now on; the capacity follows it.
func (b *bucket) setRate(now time.Time, perSecond float64) {
	b.refill(now)
	b.rate = perSecond
	b.capacity = b.capacityAt(perSecond)
	b.level = min(b.level, b.capacity)
}
