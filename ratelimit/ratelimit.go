// Package ratelimit decides when the next Bedrock call may start, so a run
// keeps to the account's quota: it paces calls evenly, reserves tokens
// before a call and settles them after, and slows the whole run down when
// Bedrock throttles anyway. It is pure policy over an injected clock.
//
// Limiter does this for one quota; Models keeps one Limiter per model and
// adds what Bedrock counts: output-token burndown, the daily budget, and a
// learned correction of input-token estimates.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are the quotas a run keeps to; zero means not known.
type Limits struct {
	RequestsPerMinute int
	TokensPerMinute   int
	// Share is the part of the limits this worker may use: 1/N for one of
	// N shards of a job, whose limits are the whole job's quota. It is a
	// ceiling, not a start: without coordination a shard cannot know the
	// others have finished, and climbing above its share while they run
	// would overshoot the quota. 0 means 1.
	Share float64
}

func (l Limits) String() string {
	rpm, tpm := "unlimited", "unlimited"
	if l.RequestsPerMinute > 0 {
		rpm = fmt.Sprint(l.RequestsPerMinute)
	}
	if l.TokensPerMinute > 0 {
		tpm = fmt.Sprint(l.TokensPerMinute)
	}
	return fmt.Sprintf("requests/min %s, tokens/min %s", rpm, tpm)
}

func perSecond(perMinute float64) rate.Limit {
	if math.IsInf(perMinute, 1) {
		return rate.Inf
	}
	return rate.Limit(perMinute / 60)
}

// Clock tells the time; tests inject a fake one.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// ErrTooLarge is returned for a call that reserves more tokens than the
// whole per-minute quota: it could never start.
var ErrTooLarge = errors.New("the request needs more tokens than the whole tokens-per-minute quota")

// How the adaptive rate moves: after a throttle the rate drops to
// decreaseFactor of itself (at most once per cooldown, since one overshoot
// throttles every call already in flight); each increaseEvery without a
// throttle it climbs back by increaseStep of the limit (or, with no limit
// known, of the rate where throttling began).
const (
	decreaseFactor = 0.7
	minFactor      = 0.02
	cooldown       = time.Second
	increaseEvery  = time.Second
	increaseStep   = 0.05
	successWindow  = 2 * time.Second // how far back successes are counted to discover a rate
	successShare   = 0.9             // of the measured success rate, where a discovered rate restarts
	probeEvery     = 5 * time.Second // how often a holding rate tries a little slower
	probeFactor    = 0.7             // how much slower a probe tries
	// minSuccessesToMeasure is how many successes a discovered rate is
	// measured from.
	minSuccessesToMeasure = 20
)

// Limiter paces call starts evenly under requests- and tokens-per-minute
// limits, one for a whole run, safe for concurrent use.
type Limiter struct {
	mu     sync.Mutex
	clock  Clock
	limits Limits

	// requests paces call starts (burst 1); rate.Inf while no request rate
	// is known or discovered.
	requests *rate.Limiter
	// tokens may go into debt and takes tokens back when a call settles,
	// which rate.Limiter cannot; nil without a tokens-per-minute limit.
	tokens *bucket
	// given is closed, and replaced, when tokens are given back: waiters
	// then look again at how long they still have to wait.
	given chan struct{}

	factor       float64 // share of the known limits in use, (0, 1]
	discovered   float64 // requests/min found by throttling when no limit is known; +Inf before
	stepPerMin   float64 // additive increase of discovered, per increaseEvery
	lastDecrease time.Time
	lastIncrease time.Time
	successes    []time.Time // recent successful calls, to measure the rate the quota allows

	throttles int64

	window          callWindow
	shareAtDecrease float64 // throttled share that led to the last decrease
	lastThrottle    time.Time
	probing         bool    // a probe decrease is in force, to be judged
	shareAtProbe    float64 // throttled share when the probe began
	beforeProbe     struct{ factor, discovered float64 }
}

// New returns a Limiter for limits over the real clock.
func New(limits Limits) *Limiter { return NewWithClock(limits, realClock{}) }

// NewWithClock returns a Limiter reading time from clock.
func NewWithClock(limits Limits, clock Clock) *Limiter {
	now := clock.Now()
	l := &Limiter{clock: clock, limits: limits, factor: 1, discovered: math.Inf(1), lastIncrease: now, given: make(chan struct{})}
	if limits.Share > 0 && limits.Share < 1 {
		l.factor = limits.Share
	}
	// One request of burst: calls start evenly spaced, never a minute's
	// quota at once.
	l.requests = rate.NewLimiter(rate.Inf, 1)
	if limits.TokensPerMinute > 0 {
		// A second of tokens of burst; a larger call goes into debt and
		// later calls wait it off.
		l.tokens = newBucket(float64(limits.TokensPerMinute), float64(limits.TokensPerMinute)/60, now)
	}
	l.apply(now)
	return l
}

// Ticket is one admitted call's reservation; exactly one of Done, Throttled
// or Failed settles it.
type Ticket struct {
	l        *Limiter
	reserved int64
	start    *rate.Reservation
	target   float64 // the tokens bucket's paid count that ends the wait
}

// Reserve admits a call that reserves tokens and says how long to wait
// before starting it. It never sleeps.
func (l *Limiter) Reserve(tokens int64) (time.Duration, Ticket, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limits.TokensPerMinute > 0 && tokens > int64(l.limits.TokensPerMinute) {
		return 0, Ticket{}, fmt.Errorf("%w (%d tokens, quota %d/min)", ErrTooLarge, tokens, l.limits.TokensPerMinute)
	}
	now := l.clock.Now()
	l.window.call(now)
	start := l.requests.ReserveN(now, 1)
	wait := start.DelayFrom(now)
	t := Ticket{l: l, reserved: tokens, start: start}
	if l.tokens != nil {
		var tokenWait time.Duration
		tokenWait, t.target = l.tokens.take(now, float64(tokens))
		wait = max(wait, tokenWait)
	}
	return wait, t, nil
}

// Remaining is how long an admitted call must still wait before it starts:
// less than Reserve said when calls settled meanwhile and gave tokens back.
// Given is closed whenever that may have happened.
func (t Ticket) Remaining() (wait time.Duration, given <-chan struct{}) {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	wait = t.start.DelayFrom(now)
	if l.tokens != nil {
		wait = max(wait, l.tokens.remaining(now, t.target))
	}
	return wait, l.given
}

// giveTokens gives n tokens back and wakes the waiters if that brought
// them closer to their turn. The caller holds l.mu.
func (l *Limiter) giveTokens(now time.Time, n float64) {
	if l.tokens != nil && l.tokens.give(now, n) {
		close(l.given)
		l.given = make(chan struct{})
	}
}

// Wait admits a call that reserves tokens and blocks until it may start.
// When ctx ends first, the reservation is given back.
func (l *Limiter) Wait(ctx context.Context, tokens int64) (Ticket, error) {
	wait, ticket, err := l.Reserve(tokens)
	if err != nil {
		return ticket, err
	}
	if wait <= 0 {
		return ticket, nil
	}
	// Tokens given back shorten the wait; a lowered rate may lengthen it.
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		_, given := ticket.Remaining()
		select {
		case <-timer.C:
		case <-given:
		case <-ctx.Done():
			ticket.cancel()
			return Ticket{}, ctx.Err()
		}
		if wait, _ = ticket.Remaining(); wait <= 0 {
			return ticket, nil
		}
		timer.Reset(wait)
	}
}

// Done settles a call that succeeded and used used tokens: the difference
// from the reservation is given back (or taken).
func (t Ticket) Done(used int64) {
	if t.l == nil {
		return
	}
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	now := t.l.clock.Now()
	t.l.giveTokens(now, float64(t.reserved-used))
	t.l.noteSuccess(now)
	t.l.increase(now)
}

// Throttled settles a call Bedrock throttled: it used no tokens, and the
// whole run slows down.
func (t Ticket) Throttled() {
	if t.l == nil {
		return
	}
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	now := t.l.clock.Now()
	t.l.giveTokens(now, float64(t.reserved))
	t.l.throttles++
	t.l.window.throttle(now)
	t.l.decrease(now)
}

// Failed settles a call that failed for another reason; its tokens are
// given back.
func (t Ticket) Failed() {
	if t.l == nil {
		return
	}
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	t.l.giveTokens(t.l.clock.Now(), float64(t.reserved))
}

// cancel gives back a reservation that never started.
func (t Ticket) cancel() {
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	now := t.l.clock.Now()
	t.start.CancelAt(now)
	t.l.giveTokens(now, float64(t.reserved))
}
