package bedrocktest

import (
	"sync"
	"time"
)

// bucket is a token bucket that refills continuously. Its level may go below zero when a
// reservation larger than the capacity is admitted into a full bucket, or when a call settles
// to more than it reserved (output tokens × burndown).
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

// modelQuota is one model id's buckets and day count.
type modelQuota struct {
	last     time.Time
	rpm, tpm *bucket
	day      dayCount
}

// advance refills both buckets up to now.
func (m *modelQuota) advance(now time.Time) {
	if s := now.Sub(m.last).Seconds(); s > 0 {
		if m.rpm != nil {
			m.rpm.refill(s)
		}
		if m.tpm != nil {
			m.tpm.refill(s)
		}
		m.last = now
	}
}

// quota holds every model's buckets behind one short-held mutex. A model's entry is made,
// with full buckets, on its first call.
type quota struct {
	defaults Quota
	models   map[string]Quota // Options.ModelQuotas
	burst    time.Duration

	mu    sync.Mutex
	state map[string]*modelQuota
	clock dayClock
}

// newQuota returns nil when there is no quota, so the hot path skips the lock.
func newQuota(o Options, now time.Time) *quota {
	defaults := Quota{RequestsPerMinute: o.RequestsPerMinute, TokensPerMinute: o.TokensPerMinute, TokensPerDay: o.TokensPerDay}
	set := !defaults.isZero()
	for _, q := range o.ModelQuotas {
		set = set || !q.isZero()
	}
	if !set {
		return nil
	}
	return &quota{
		defaults: defaults,
		models:   o.ModelQuotas,
		burst:    o.burst(),
		state:    map[string]*modelQuota{},
		clock:    dayClock{start: now, length: o.dayLength()},
	}
}

// modelLocked returns modelID's state, made on first use from its Quota.
func (q *quota) modelLocked(modelID string, now time.Time) *modelQuota {
	if m, ok := q.state[modelID]; ok {
		return m
	}
	cfg, ok := q.models[modelID]
	if !ok {
		cfg = q.defaults
	}
	m := &modelQuota{
		last: now,
		rpm:  newBucket(cfg.RequestsPerMinute, q.burst, 1),
		tpm:  newBucket(cfg.TokensPerMinute, q.burst, 0),
		day:  dayCount{limit: float64(cfg.TokensPerDay)},
	}
	q.state[modelID] = m
	return m
}

// admit takes one request and reserve tokens from modelID's quotas if all of them allow it, or
// nothing. It returns the throttling message, or "" when the call is admitted. The daily quota
// is checked first: when the day is spent no per-minute refill helps.
func (q *quota) admit(now time.Time, modelID string, reserve int64) string {
	if q == nil {
		return ""
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rollDayLocked(now)
	m := q.modelLocked(modelID, now)
	m.advance(now)
	if !m.day.fits(float64(reserve)) {
		return msgThrottledTPD
	}
	if m.rpm != nil && !m.rpm.fits(1) {
		return msgThrottledRPM
	}
	if m.tpm != nil && !m.tpm.fits(float64(reserve)) {
		return msgThrottledTPM
	}
	if m.rpm != nil {
		m.rpm.level--
	}
	if m.tpm != nil {
		m.tpm.level -= float64(reserve)
	}
	m.day.reserved += float64(reserve)
	return ""
}

// settle replaces what an admitted call reserved with what it used, in quota tokens.
func (q *quota) settle(now time.Time, modelID string, reserved int64, used float64) {
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rollDayLocked(now)
	m := q.modelLocked(modelID, now)
	m.advance(now)
	if m.tpm != nil {
		m.tpm.level = min(m.tpm.capacity, m.tpm.level+float64(reserved)-used)
	}
	m.day.reserved -= float64(reserved)
	m.day.used += used
}
