package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Limiter admits calls against one quota, safe for concurrent use. Calls
// wait in one queue, served strictly first in, first out by one scheduler
// (dispatch, always under mu) that owns one timer: the timer is armed for
// the instant the call at the head can start, and every event that can
// bring that instant forward (a settled call giving tokens back, a waiter
// leaving, a change of rate) runs the scheduler again at once. No waiter
// sleeps on a timer of its own, so none can oversleep its turn, and no
// queue of late waiters can start in a burst: what starts at once is what
// the buckets hold, at most one second of the rate (see burst).
type Limiter struct {
	mu     sync.Mutex
	clock  Clock
	limits Limits

	// tokens is nil without a tokens-per-minute limit, known or being
	// discovered; requests is nil without a requests-per-minute limit.
	tokens   *bucket
	requests *bucket
	ctrl     controller

	queue    waitQueue
	timer    Timer
	timerAt  time.Time // when timer fires; meaningful while timer != nil
	timerGen uint64    // tells a stale timer's call from the armed one's
	blocked  bool      // the head waited for the rate at the last dispatch

	throttles int64
}

// New returns a Limiter for limits over the real clock.
func New(limits Limits) *Limiter { return NewWithClock(limits, realClock{}) }

// NewWithClock returns a Limiter reading time and arming its timer on clock.
func NewWithClock(limits Limits, clock Clock) *Limiter {
	now := clock.Now()
	l := &Limiter{clock: clock, limits: limits}
	l.ctrl = newController(limits, now)
	if limits.RequestsPerMinute > 0 {
		l.requests = newBucket(float64(limits.RequestsPerMinute)/60, 1, now)
	}
	if limits.TokensPerMinute > 0 {
		l.tokens = newBucket(float64(limits.TokensPerMinute)/60, 0, now)
	}
	l.apply(now)
	return l
}

// Ticket is one admitted call's reservation; exactly one of Done, Throttled
// or Failed settles it.
type Ticket struct {
	l        *Limiter
	reserved float64
	epoch    uint64 // the controller's epoch when it was admitted
}

// waiter is a call in the queue.
type waiter struct {
	tokens     float64
	ready      chan struct{} // closed at admission; nil until the waiter sleeps
	admitted   bool
	epoch      uint64
	prev, next *waiter
}

// waitQueue is a FIFO of waiters that can also drop one from the middle.
type waitQueue struct {
	head, tail *waiter
	n          int
}

func (q *waitQueue) push(w *waiter) {
	w.prev, w.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.n++
}

func (q *waitQueue) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next = nil, nil
	q.n--
}

// Wait admits a call that reserves tokens and blocks until it may start:
// behind every call that came before it, and once the quota holds its
// tokens. When ctx ends first, it leaves the queue having taken nothing.
func (l *Limiter) Wait(ctx context.Context, tokens int64) (Ticket, error) {
	w, err := l.enqueue(tokens)
	if err != nil {
		return Ticket{}, err
	}
	if w.ready != nil {
		select {
		case <-w.ready:
		case <-ctx.Done():
			if l.leave(w) {
				return Ticket{}, ctx.Err()
			}
			// Admitted as ctx ended: the call will not start.
			l.ticket(w).cancel()
			return Ticket{}, ctx.Err()
		}
	}
	return l.ticket(w), nil
}

func (l *Limiter) ticket(w *waiter) Ticket {
	return Ticket{l: l, reserved: w.tokens, epoch: w.epoch}
}

// enqueue puts a call at the back of the queue and runs the scheduler; the
// waiter is admitted already, or has a ready channel to sleep on.
func (l *Limiter) enqueue(tokens int64) (*waiter, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limits.TokensPerMinute > 0 && tokens > int64(l.limits.TokensPerMinute) {
		return nil, fmt.Errorf("%w (%d tokens, quota %d/min)", ErrTooLarge, tokens, l.limits.TokensPerMinute)
	}
	now := l.clock.Now()
	if l.tokens == nil && !l.limits.known() {
		// No quota known: discovered in tokens, from a careful start
		// sized on the first call.
		l.ctrl.begin(float64(max(tokens, 1)))
		l.tokens = newBucket(l.ctrl.x/60, 0, now)
		// Bedrock's bucket is not known, only a rate found by
		// throttling: what settled calls give back starts no more than
		// a second of that rate, like tokens that come in by refill.
		l.tokens.spare = 1
	}
	w := &waiter{tokens: float64(tokens)}
	l.queue.push(w)
	l.dispatch(now)
	if !w.admitted {
		w.ready = make(chan struct{})
	}
	return w, nil
}

// leave takes a waiter out of the queue; false if it was admitted first.
func (l *Limiter) leave(w *waiter) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.admitted {
		return false
	}
	l.queue.remove(w)
	l.dispatch(l.clock.Now()) // the head may have changed
	return true
}

// dispatch is the scheduler: it starts every call at the head of the queue
// that the buckets hold now, in order, and arms the timer for the next
// one. The caller holds mu.
func (l *Limiter) dispatch(now time.Time) {
	if l.ctrl.grow(now, l.blocked) {
		l.apply(now)
	}
	l.refill(now)
	for w := l.queue.head; w != nil && l.fits(w); w = l.queue.head {
		l.queue.remove(w)
		if l.tokens != nil {
			l.tokens.take(w.tokens)
		}
		if l.requests != nil {
			l.requests.take(1)
		}
		w.admitted, w.epoch = true, l.ctrl.epoch
		l.ctrl.window.call(now)
		if w.ready != nil {
			close(w.ready)
		}
	}
	if l.tokens != nil {
		var head float64
		if l.queue.head != nil {
			head = l.queue.head.tokens
		}
		l.tokens.wait(head)
		l.tokens.clamp()
	}
	if l.requests != nil {
		l.requests.clamp()
	}
	l.blocked = l.queue.head != nil
	l.arm(now)
}

func (l *Limiter) refill(now time.Time) {
	if l.tokens != nil {
		l.tokens.refill(now)
	}
	if l.requests != nil {
		l.requests.refill(now)
	}
}

// fits reports whether the buckets hold w, which becomes the head.
func (l *Limiter) fits(w *waiter) bool {
	if l.tokens != nil {
		l.tokens.wait(w.tokens)
	}
	return (l.tokens == nil || l.tokens.fits(w.tokens)) && (l.requests == nil || l.requests.fits(1))
}

// arm sets the one timer for the instant the head can start, or stops it
// when nothing waits.
func (l *Limiter) arm(now time.Time) {
	w := l.queue.head
	if w == nil {
		l.stopTimer()
		return
	}
	var d time.Duration
	if l.tokens != nil {
		d = l.tokens.until(w.tokens)
	}
	if l.requests != nil {
		d = max(d, l.requests.until(1))
	}
	if d == never {
		l.stopTimer() // only a settled call can make room
		return
	}
	at := now.Add(d)
	if l.timer != nil && l.timerAt.Equal(at) {
		return
	}
	l.stopTimer()
	l.timerGen++
	gen := l.timerGen
	l.timer, l.timerAt = l.clock.AfterFunc(d, func() { l.fire(gen) }), at
}

func (l *Limiter) stopTimer() {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}

// fire runs the scheduler when the timer goes off. A timer stopped too
// late to keep it from firing finds a newer one armed and leaves it be;
// running the scheduler once more does no harm.
func (l *Limiter) fire(gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen == l.timerGen {
		l.timer = nil
	}
	l.dispatch(l.clock.Now())
}

// apply sets the buckets' rates from the controller.
func (l *Limiter) apply(now time.Time) {
	tpm, rpm := l.ctrl.rates(l.limits)
	if l.tokens != nil && tpm > 0 {
		l.tokens.setRate(now, tpm/60)
	}
	if l.requests != nil && rpm > 0 {
		l.requests.setRate(now, rpm/60)
	}
}

// Done settles a call that succeeded and used used tokens: the difference
// from the reservation is given back (or taken), and waiting calls that
// now fit start at once.
func (t Ticket) Done(used int64) {
	t.settle(func(l *Limiter, now time.Time) {
		if l.tokens != nil {
			l.tokens.give(now, t.reserved-float64(used))
		}
		if l.ctrl.succeeded(now, t.epoch, float64(used)) {
			l.apply(now)
		}
	})
}

// Throttled settles a call Bedrock throttled: it used no tokens, but
// Bedrock's bucket did not hold it, so the limiter's buckets are taken to
// be empty too, and the run slows down once per throttling episode.
func (t Ticket) Throttled() {
	t.settle(func(l *Limiter, now time.Time) {
		l.throttles++
		resync, changed := l.ctrl.throttled(now, t.epoch)
		if changed {
			l.apply(now)
		}
		if l.tokens != nil {
			if resync {
				l.tokens.resync(now, t.reserved)
			} else {
				l.tokens.give(now, t.reserved)
			}
		}
		if l.requests != nil && resync {
			l.requests.resync(now, 1)
		}
	})
}

// Failed settles a call that failed for another reason: its tokens are
// given back (the request it made still counts).
func (t Ticket) Failed() {
	t.settle(func(l *Limiter, now time.Time) {
		if l.tokens != nil {
			l.tokens.give(now, t.reserved)
		}
	})
}

// cancel gives back everything of a call that never started.
func (t Ticket) cancel() {
	t.settle(func(l *Limiter, now time.Time) {
		if l.tokens != nil {
			l.tokens.give(now, t.reserved)
		}
		if l.requests != nil {
			l.requests.give(now, 1)
		}
	})
}

// settle ends a call: f adjusts the buckets, then the scheduler runs.
func (t Ticket) settle(f func(l *Limiter, now time.Time)) {
	l := t.l
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if l.ctrl.grow(now, l.blocked) {
		l.apply(now)
	}
	f(l, now)
	l.dispatch(now)
}

// Waiting is how many calls are in the queue.
func (l *Limiter) Waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queue.n
}
