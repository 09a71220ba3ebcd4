package bedrocktest

import (
	"sync"
	"time"
)

// bucket is a token bucket that refills continuously. Its level may go below zero when a
// reservation larger than the capacity is admitted into a full bucket.
type bucket struct {
	capacity float64
	level    float64
	rate     float64 // per second
}

func newBucket(perMinute int, burst time.Duration, floor float64) *bucket {
	if perMinute <= 0 {
		return nil
	}
	c := max(float64(perMinute)*burst.Seconds()/60, floor)
	return &bucket{capacity: c, level: c, rate: float64(perMinute) / 60}
}

func (b *bucket) refill(seconds float64) {
	b.level = min(b.capacity, b.level+b.rate*seconds)
}

// fits reports whether n can be taken now: n itself, or a full bucket when n exceeds it.
func (b *bucket) fits(n float64) bool {
	return b.level >= min(n, b.capacity)
}

// quota holds the RPM and TPM buckets of one emulator behind one short-held mutex.
type quota struct {
	mu   sync.Mutex
	last time.Time
	rpm  *bucket
	tpm  *bucket
}

// newQuota returns nil when there is no quota, so the hot path skips the lock.
func newQuota(o Options, now time.Time) *quota {
	rpm := newBucket(o.RequestsPerMinute, o.burst(), 1)
	tpm := newBucket(o.TokensPerMinute, o.burst(), 0)
	if rpm == nil && tpm == nil {
		return nil
	}
	return &quota{last: now, rpm: rpm, tpm: tpm}
}

// advanceLocked refills both buckets up to now.
func (q *quota) advanceLocked(now time.Time) {
	if s := now.Sub(q.last).Seconds(); s > 0 {
		if q.rpm != nil {
			q.rpm.refill(s)
		}
		if q.tpm != nil {
			q.tpm.refill(s)
		}
		q.last = now
	}
}

// admit takes one request and reserve tokens if both buckets allow it, or nothing. It returns
// the throttling message, or "" when the call is admitted.
func (q *quota) admit(now time.Time, reserve int64) string {
	if q == nil {
		return ""
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.advanceLocked(now)
	if q.rpm != nil && !q.rpm.fits(1) {
		return msgThrottledRPM
	}
	if q.tpm != nil && !q.tpm.fits(float64(reserve)) {
		return msgThrottledTPM
	}
	if q.rpm != nil {
		q.rpm.level--
	}
	if q.tpm != nil {
		q.tpm.level -= float64(reserve)
	}
	return ""
}

// settle gives back to the TPM bucket what an admitted call reserved but did not use.
func (q *quota) settle(now time.Time, reserved, used int64) {
	if q == nil || q.tpm == nil || reserved == used {
		return
	}
	q.mu.Lock()
	q.advanceLocked(now)
	q.tpm.level = min(q.tpm.capacity, q.tpm.level+float64(reserved-used))
	q.mu.Unlock()
}
