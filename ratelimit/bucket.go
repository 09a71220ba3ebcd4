package ratelimit

import (
	"math"
	"time"
)

// burst is the limiter's own burst: a bucket holds this much of its rate,
// so no more than one second of quota (or the one call waiting, if it is
// larger) ever starts at once, however long calls waited.
const burst = time.Second

// least is the least Bedrock's bucket holds, in seconds of quota (the
// emulator's reading; a minute in the per-minute one): a call waits for
// its own tokens up to that much, and a larger one starts into debt when
// the bucket holds that much, as Bedrock's would admit it into a full
// bucket. Tokens given back are kept for waiting calls up to spare
// seconds, as Bedrock's bucket keeps them: at a second and a half what
// settled calls gave back beyond it was lost, and a run whose
// concurrency barely holds its quota (4 calls of 2 s) fell 6% short of it
// (input estimates that fall short are caught by resync at the first
// refusal). With no quota known (bucket.spare 1) Bedrock's bucket is not
// known either: a second of the rate found, like refill.
const (
	least = 2
	spare = 2
)

// epsilon absorbs floating-point rounding when a timer fires at the very
// instant a bucket was computed to hold enough.
const epsilon = 1e-6

// never is the wait for a bucket that does not refill.
const never = time.Duration(math.MaxInt64)

// bucket is a token bucket that never holds more than Bedrock's. Like
// Bedrock's it starts full, refills continuously, and admits a taker only
// when it holds the taker's tokens, or, for a taker larger than least
// seconds of its rate, when it holds that much, and then goes into debt
// as Bedrock's would. What it holds is a second of its rate (burst), or
// the taker at the head if that is larger, up to least: a call of more
// than a second of quota waits for its own tokens, and tokens that came in
// while nobody waited never start more than a second's worth of calls at
// once. Tokens given back (a call used less than it reserved) raise the
// level and start waiting takers at once, up to spare seconds (or the
// head); a call that used more takes the difference, which may leave the
// level below zero. All methods take the current time, so tests need no
// sleeping.
type bucket struct {
	rate     float64 // per second
	capacity float64 // a second of rate
	floor    float64 // the smallest capacity (one request for a request bucket)
	head     float64 // the taker at the head of the queue; 0 when none waits
	spare    float64 // seconds of rate tokens given back may reach
	level    float64
	last     time.Time
}

func newBucket(perSecond, floor float64, now time.Time) *bucket {
	b := &bucket{rate: perSecond, floor: floor, last: now, spare: spare}
	b.capacity = b.capacityAt(perSecond)
	b.level = b.capacity
	return b
}

func (b *bucket) capacityAt(perSecond float64) float64 {
	return max(perSecond*burst.Seconds(), b.floor)
}

// most is what Bedrock's bucket holds at the least.
func (b *bucket) most() float64 { return least * b.capacity }

// limit is what the bucket may hold now: its capacity, or the head up to
// most.
func (b *bucket) limit() float64 { return max(b.capacity, min(b.head, b.most())) }

func (b *bucket) refill(now time.Time) {
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		if b.level < b.limit() {
			b.level = min(b.limit(), b.level+elapsed*b.rate)
		}
		b.last = now
	}
}

// wait makes n the taker at the head (0: none), after a refill up to the
// previous head, so tokens that came in while a smaller call or none
// waited never count beyond its limit.
func (b *bucket) wait(n float64) { b.head = n }

// fits reports whether a taker of n may start now (after refill).
func (b *bucket) fits(n float64) bool { return b.level >= min(n, b.limit())-epsilon }

// until is how long, from the last refill, before a taker of n fits with
// no tokens given back meanwhile.
func (b *bucket) until(n float64) time.Duration {
	short := min(n, b.limit()) - b.level
	if short <= epsilon {
		return 0
	}
	if b.rate <= 0 {
		return never
	}
	return time.Duration(math.Ceil(short / b.rate * float64(time.Second)))
}

// take removes n tokens, from no more than most: beyond, Bedrock's bucket
// goes into debt.
func (b *bucket) take(n float64) { b.level = min(b.level, b.most()) - n }

// give returns n tokens (a negative n takes -n more). Calls waiting may
// use them at once, as Bedrock admits calls when settled ones free their
// reservations, up to spare seconds or the head; what none takes is kept
// up to the limit (clamp).
func (b *bucket) give(now time.Time, n float64) {
	b.refill(now)
	b.level = min(b.level+n, max(b.spare*b.capacity, b.limit()))
}

// clamp keeps what no waiting call took within the limit.
func (b *bucket) clamp() { b.level = min(b.level, b.limit()) }

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
	b.clamp()
}
