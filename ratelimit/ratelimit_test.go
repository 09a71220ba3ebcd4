package ratelimit

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func newFake(limits Limits) (*Limiter, *fakeClock) {
	clock := newFakeClock()
	return NewWithClock(limits, clock), clock
}

func enqueue(t *testing.T, l *Limiter, tokens int64) *waiter {
	t.Helper()
	w, err := l.enqueue(tokens)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// admissions moves the clock from timer to timer until every waiter has
// started, and returns when each did, from the clock's time at the call.
// The limiter must never hold more than its one timer, and never leave a
// waiter with no timer to wake it.
func admissions(t *testing.T, clock *fakeClock, ws []*waiter) []time.Duration {
	t.Helper()
	return admissionsOf(t, clock, ws, 1)
}

// admissionsOf is admissions for waiters of several limiters: at most
// one timer each.
func admissionsOf(t *testing.T, clock *fakeClock, ws []*waiter, limiters int) []time.Duration {
	t.Helper()
	start := clock.Now()
	at := make([]time.Duration, len(ws))
	for i := range at {
		at[i] = -1
	}
	for {
		left := 0
		for i, w := range ws {
			if w.admitted && at[i] < 0 {
				at[i] = clock.Now().Sub(start)
			}
			if !w.admitted {
				left++
			}
		}
		if left == 0 {
			return at
		}
		if n := clock.pending(); n > limiters {
			t.Fatalf("%d timers armed for %d limiters: each scheduler owns one", n, limiters)
		}
		if !clock.next(start.Add(24 * time.Hour)) {
			t.Fatalf("%d waiters left with no timer to wake them", left)
		}
	}
}

func enqueueMany(t *testing.T, l *Limiter, n int, tokens int64) []*waiter {
	t.Helper()
	ws := make([]*waiter, n)
	for i := range ws {
		ws[i] = enqueue(t, l, tokens)
	}
	return ws
}

func admitted(ws []*waiter) int {
	n := 0
	for _, w := range ws {
		if w.admitted {
			n++
		}
	}
	return n
}

func near(got, want time.Duration) bool { return (got - want).Abs() <= time.Microsecond }

func TestRequestsArePacedEvenly(t *testing.T) {
	tests := []struct {
		name  string
		rpm   int
		calls int
		burst int           // calls that start at once: a second of the quota
		want  time.Duration // spacing between starts after them
	}{
		{"600/min: one every 100ms after a second's 10", 600, 30, 10, 100 * time.Millisecond},
		{"1200/min: one every 50ms after a second's 20", 1200, 60, 20, 50 * time.Millisecond},
		{"7/min: one request of burst", 7, 3, 1, time.Minute / 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, clock := newFake(Limits{RequestsPerMinute: tt.rpm})
			ws := make([]*waiter, tt.calls)
			for i := range ws {
				ws[i] = enqueue(t, l, 10)
			}
			for i, at := range admissions(t, clock, ws) {
				want := time.Duration(max(0, i+1-tt.burst)) * tt.want
				if !near(at, want) {
					t.Fatalf("call %d starts at %v, want %v", i, at, want)
				}
			}
		})
	}
}

// TestWaitersStartFromRefillAlone is the failure of issue 13: calls
// waiting for the quota with the bucket in debt and no call in flight
// (nobody will give tokens back) start the moment refill lets them, each
// in turn, with the scheduler's one timer.
func TestWaitersStartFromRefillAlone(t *testing.T) {
	// 6,000 tokens/min: 100 a second, a bucket of 100.
	l, clock := newFake(Limits{TokensPerMinute: 6000})
	big := enqueue(t, l, 400) // starts at 2 s of quota, leaving 200 of debt
	admissions(t, clock, []*waiter{big})
	l.ticket(big).Done(400) // it used all it reserved: nothing comes back
	if l.tokens.level != -200 {
		t.Fatalf("bucket at %v, want 200 in debt", l.tokens.level)
	}
	sizes := []int64{100, 30, 70, 50, 50, 100, 1}
	ws := make([]*waiter, len(sizes))
	for i, n := range sizes {
		ws[i] = enqueue(t, l, n)
	}
	var sum int64
	for i, at := range admissions(t, clock, ws) {
		// Call i starts once refill has paid the debt and what the
		// calls up to it take.
		sum += sizes[i]
		want := time.Duration(float64(200+sum) / 100 * float64(time.Second))
		if !near(at, want) {
			t.Fatalf("call %d (%d tokens) starts at %v, want %v", i, sizes[i], at, want)
		}
	}
}

// TestNoBurstAfterAPause: however long the queue was empty, what starts at
// once is no more than the limiter's burst, one second of the quota.
func TestNoBurstAfterAPause(t *testing.T) {
	l, clock := newFake(Limits{TokensPerMinute: 60000}) // 1,000 a second
	clock.advance(time.Hour)
	ws := enqueueMany(t, l, 200, 30)
	if started := admitted(ws); started != 33 { // 33 × 30 = 990 of a bucket of 1,000
		t.Fatalf("%d calls of 30 tokens start at once after an hour's pause, want 33 (a second of quota)", started)
	}
	at := admissions(t, clock, ws)
	if last, want := at[len(at)-1], time.Duration(float64(200*30-1000)/1000*float64(time.Second)); !near(last, want) {
		t.Fatalf("the last call starts at %v, want %v", last, want)
	}
}

// TestFIFOAcrossAThousandWaiters: waiters of every size start strictly in
// the order they came, each as soon as the quota lets it: a small call
// never jumps a large one waiting ahead of it.
func TestFIFOAcrossAThousandWaiters(t *testing.T) {
	l, clock := newFake(Limits{TokensPerMinute: 60000}) // 1,000 a second
	const n = 1000
	sizes := make([]int64, n)
	ws := make([]*waiter, n)
	for i := range ws {
		sizes[i] = int64(1 + (i*7919)%997) // 1 .. 997, shuffled
		ws[i] = enqueue(t, l, sizes[i])
	}
	at := admissions(t, clock, ws)
	var sum int64
	prev := time.Duration(0)
	for i := range ws {
		sum += sizes[i]
		earliest := max(prev, time.Duration(float64(sum-1000)/1000*float64(time.Second)))
		if !near(at[i], earliest) {
			t.Fatalf("waiter %d (%d tokens) starts at %v, want %v: out of order or late", i, sizes[i], at[i], earliest)
		}
		prev = at[i]
	}
}

// TestCancelInTheMiddle: a waiter that leaves the queue took nothing, so
// those behind it start as if it had never come, and no earlier than the
// quota allows them.
func TestCancelInTheMiddle(t *testing.T) {
	l, clock := newFake(Limits{TokensPerMinute: 6000}) // 100 a second, bucket 100
	ws := make([]*waiter, 10)
	for i := range ws {
		ws[i] = enqueue(t, l, 50)
	}
	clock.advance(time.Second) // two more have started: 4 in all
	if !l.leave(ws[6]) {
		t.Fatal("a waiter still in the queue could not leave")
	}
	kept := append(append([]*waiter(nil), ws[:6]...), ws[7:]...)
	at := admissions(t, clock, kept)
	for i, got := range at[4:] {
		// The fifth call on starts at its 50 tokens' turn: (k+1)·50 - 100
		// over 100 a second, with k its place among the calls left.
		k := int64(i + 4)
		want := time.Duration(float64((k+1)*50-100)/100*float64(time.Second)) - time.Second
		if !near(got, want) {
			t.Fatalf("call %d of those left starts at %v after the cancel, want %v", k, got, want)
		}
	}
}

func TestWaitLeavesTheQueueOnCancel(t *testing.T) {
	l, clock := newFake(Limits{TokensPerMinute: 6000}) // 100 a second, bucket 100
	first := enqueue(t, l, 100)                        // the whole bucket
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := l.Wait(ctx, 30)
		errc <- err
	}()
	for l.Waiting() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if !first.admitted || l.Waiting() != 0 {
		t.Fatalf("first admitted %v, %d waiting", first.admitted, l.Waiting())
	}
	// The next call of 30 waits for its own 30 tokens only.
	next := enqueue(t, l, 30)
	if at := admissions(t, clock, []*waiter{next}); !near(at[0], 300*time.Millisecond) {
		t.Fatalf("the next call starts after %v, want 300ms", at[0])
	}
}

// TestSettledCallsBringTheHeadForward: tokens given back by a call that
// used less than it reserved start the head at once, as Bedrock admits
// calls once settled ones free their reservations.
func TestSettledCallsBringTheHeadForward(t *testing.T) {
	l, clock := newFake(Limits{TokensPerMinute: 6000}) // 100 a second, bucket 100
	first := enqueue(t, l, 100)
	second := enqueue(t, l, 80)
	clock.advance(100 * time.Millisecond) // 10 tokens in: the second still waits
	if second.admitted {
		t.Fatal("admitted before the tokens were there")
	}
	l.ticket(first).Done(30) // 70 back: 80 in the bucket
	if !second.admitted {
		t.Fatal("tokens given back did not start the waiting call")
	}
	if l.tokens.level != 0 {
		t.Fatalf("bucket at %v, want 0", l.tokens.level)
	}
	// A call that used more than it reserved takes the extra.
	clock.advance(10 * time.Second)
	l.ticket(second).Done(130) // 50 more than reserved
	if l.tokens.level != 50 {
		t.Fatalf("after an overrun the bucket holds %v, want 50", l.tokens.level)
	}
	// Tokens given back start waiting calls before the bucket's capacity
	// caps them: with 50 in and 100 back, two calls of 60 start, not one.
	third := enqueue(t, l, 100)
	waiting := []*waiter{enqueue(t, l, 60), enqueue(t, l, 60)}
	clock.advance(500 * time.Millisecond) // the third starts
	clock.advance(500 * time.Millisecond) // 50 in
	l.ticket(third).Done(0)
	if admitted(waiting) != 2 || math.Abs(l.tokens.level-30) > 1e-9 {
		t.Fatalf("%d of 2 waiting calls started, %v left; want both and 30", admitted(waiting), l.tokens.level)
	}
}

// TestGivenBackUpToBedrocksBucket: tokens a settled call gives back start
// the calls waiting at once up to two seconds of quota, the least
// Bedrock's bucket holds; with a cap at a second and a half a run whose
// every worker was in flight lost what came back, and fell short of its
// quota.
func TestGivenBackUpToBedrocksBucket(t *testing.T) {
	l, clock := newFake(Limits{TokensPerMinute: 6000}) // 100 a second, bucket 100
	big := enqueue(t, l, 200)
	clock.advance(time.Second) // a call of two seconds of quota waits for its own
	if !big.admitted {
		t.Fatal("a call of 200 did not start after a second's refill")
	}
	waiting := []*waiter{enqueue(t, l, 90), enqueue(t, l, 90)}
	l.ticket(big).Done(20) // 180 back
	if admitted(waiting) != 2 {
		t.Fatalf("%d of 2 calls of 90 started with 180 given back, want both", admitted(waiting))
	}
}

func TestTooLargeIsAnErrorNotADeadlock(t *testing.T) {
	l, clock := newFake(Limits{TokensPerMinute: 6000})
	if _, err := l.enqueue(6001); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
	// Larger than the bucket but within the minute: it starts when the
	// bucket holds what Bedrock's does at the least, 2 s of quota, as
	// Bedrock admits it into a full bucket, and those behind it wait
	// until the debt is paid off.
	big := enqueue(t, l, 6000)
	small := enqueue(t, l, 10)
	at := admissions(t, clock, []*waiter{big, small})
	if !near(at[0], time.Second) || !near(at[1], 59100*time.Millisecond) {
		t.Fatalf("starts at %v; want 1s and 59.1s", at)
	}
}

func TestThrottleSlowsDownOncePerEpisode(t *testing.T) {
	l, clock := newFake(Limits{RequestsPerMinute: 600, TokensPerMinute: 60000})
	var tickets []Ticket
	for range 5 {
		tickets = append(tickets, l.ticket(enqueue(t, l, 10)))
	}
	tickets[0].Throttled()
	if got := l.Rate(); math.Abs(got.RequestsPerMinute-420) > 1e-6 || math.Abs(got.TokensPerMinute-42000) > 1e-6 {
		t.Fatalf("after a throttle: %+v, want 420 req/min and 42000 tokens/min", got)
	}
	// Bedrock refused a call, so its bucket did not hold one: neither
	// does the limiter's, whatever it counted.
	if l.tokens.level > 0 || l.requests.level > 0 {
		t.Fatalf("after a throttle the buckets hold %v tokens and %v requests, want none", l.tokens.level, l.requests.level)
	}
	// The calls admitted with it, at the old rate, are the same episode.
	for _, ticket := range tickets[1:] {
		ticket.Throttled()
	}
	if got := l.Rate().RequestsPerMinute; math.Abs(got-420) > 1e-6 {
		t.Fatalf("one episode decreased more than once: %v", got)
	}
	// Calls admitted after the decrease and throttled too, most of them,
	// say the rate is still too high.
	next := []*waiter{enqueue(t, l, 10), enqueue(t, l, 10)}
	admissions(t, clock, next)
	l.ticket(next[0]).Throttled()
	l.ticket(next[1]).Throttled()
	if got := l.Rate().RequestsPerMinute; math.Abs(got-294) > 1e-6 {
		t.Fatalf("second decrease: %v, want 294", got)
	}
	if got := l.Rate().Throttles; got != 7 {
		t.Fatalf("%d throttles counted, want 7", got)
	}
}

func TestRateClimbsBackToTheLimitOnly(t *testing.T) {
	l, clock := newFake(Limits{TokensPerMinute: 6000})
	l.ticket(enqueue(t, l, 50)).Throttled()
	if f := l.Rate().Factor; f != decreaseFactor {
		t.Fatalf("factor %v after a throttle", f)
	}
	// Calls keep waiting for the rate, and succeed: it climbs back by 5%
	// of the limit a second, to the limit and no further.
	for range 200 {
		w := enqueue(t, l, 50)
		admissions(t, clock, []*waiter{w})
		l.ticket(w).Done(50)
	}
	if got := l.Rate(); got.Factor != 1 || got.TokensPerMinute != 6000 {
		t.Fatalf("after quiet calls: %+v, want the limit", got)
	}
}

func TestShareIsACeiling(t *testing.T) {
	l, clock := newFake(Limits{RequestsPerMinute: 1200, TokensPerMinute: 120000, Share: 0.25})
	if got := l.Rate(); got.RequestsPerMinute != 300 || got.TokensPerMinute != 30000 {
		t.Fatalf("a quarter shard runs at %+v, want 300 req/min and 30000 tokens/min", got)
	}
	l.ticket(enqueue(t, l, 10)).Throttled()
	for range 2000 {
		w := enqueue(t, l, 10)
		admissions(t, clock, []*waiter{w})
		l.ticket(w).Done(10)
	}
	// Back to its share after a throttle, and never above it: the other
	// shards may be running.
	if got := l.Rate().RequestsPerMinute; got != 300 {
		t.Fatalf("after a throttle and quiet calls: %v req/min, want its share, 300", got)
	}
}

func TestSetShareTakesUpTheSlack(t *testing.T) {
	l, clock := newFake(Limits{RequestsPerMinute: 1200, Share: 0.25})
	l.SetShare(0.5) // two of four shards have finished
	for range 2000 {
		w := enqueue(t, l, 10)
		admissions(t, clock, []*waiter{w})
		l.ticket(w).Done(10)
	}
	if got := l.Rate().RequestsPerMinute; got != 600 {
		t.Fatalf("with half the quota free: %v req/min, want 600", got)
	}
	l.SetShare(0.25)
	if got := l.Rate().RequestsPerMinute; got != 300 {
		t.Fatalf("share lowered: %v req/min, want 300 at once", got)
	}
}

// TestSlowStart: with no quota known, a run starts with a few calls, not
// its whole concurrency; the rate holds until calls answer, then doubles
// every second calls wait for it, never beyond twice what they settle.
func TestSlowStart(t *testing.T) {
	l, clock := newFake(Limits{})
	ws := enqueueMany(t, l, 400, 100)
	if started := admitted(ws); started != startCallsPerSecond {
		t.Fatalf("%d of %d calls start at once with no quota known, want %d", started, len(ws), startCallsPerSecond)
	}
	if got := l.Rate().TokensPerMinute; got != 24000 {
		t.Fatalf("starting rate %v tokens/min, want 4 calls of 100 a second", got)
	}
	clock.advance(3 * time.Second)
	if got := l.Rate().TokensPerMinute; got != 24000 {
		t.Fatalf("with no call answered yet the rate moved to %v", got)
	}
	// Calls answer 100 ms after they start, having used what they
	// reserved: the rate doubles every second, within twice what settles.
	settled := make([]bool, len(ws))
	for range 30 {
		clock.advance(100 * time.Millisecond)
		for i, w := range ws {
			if w.admitted && !settled[i] {
				settled[i] = true
				l.ticket(w).Done(100)
			}
		}
	}
	if got := l.Rate().TokensPerMinute; got < 4*24000 || got > 8*24000 {
		t.Fatalf("after 3 s of answered calls the rate is %v, want 4 to 8 times the start", got)
	}
	// With nobody waiting there is nothing to learn: the rate holds.
	for _, w := range ws {
		if !w.admitted {
			l.leave(w)
		}
	}
	before := l.Rate().TokensPerMinute
	clock.advance(10 * time.Second)
	if got := l.Rate().TokensPerMinute; got != before {
		t.Fatalf("with no call waiting the rate moved from %v to %v", before, got)
	}
}

// TestSlowRunClimbsAfterAQuietJudgement: a run of one call a second that
// slowed down for a throttle and then sees none for judgeLongest is below
// the quota, and climbs again after judgeQuiet such calls; it does not
// wait for judgeFewest of them, most of a minute below the quota. A
// throttle among them keeps it waiting.
func TestSlowRunClimbsAfterAQuietJudgement(t *testing.T) {
	for _, tt := range []struct {
		name     string
		throttle bool // one of the calls after the decrease is throttled
		climbs   bool
	}{
		{"quiet", false, true},
		{"a throttle among them", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, clock := newFake(Limits{})
			w := enqueue(t, l, 100)
			clock.advance(time.Second)
			l.ticket(w).Done(100)
			l.ticket(enqueue(t, l, 100)).Throttled() // leaves slow start
			after := l.Rate().TokensPerMinute
			// One call a second, every one answered, queued behind the rate.
			for i := range judgeQuiet + 6 {
				if !l.ctrl.judge.active {
					break
				}
				w := enqueue(t, l, 100)
				clock.advance(time.Second)
				if !w.admitted {
					admissions(t, clock, []*waiter{w})
				}
				if tt.throttle && i == 0 {
					l.ticket(w).Throttled()
					continue
				}
				l.ticket(w).Done(100)
			}
			if got := !l.ctrl.judge.active; got != tt.climbs {
				t.Fatalf("after %d calls in %v the decrease is judged: %v, want %v", judgeQuiet+6, judgeLongest+6*time.Second, got, tt.climbs)
			}
			if tt.climbs {
				admissions(t, clock, enqueueMany(t, l, 20, 100)) // calls waiting for the rate
				if got := l.Rate().TokensPerMinute; got <= after {
					t.Fatalf("rate %v after a quiet judgement, want above %v", got, after)
				}
			}
		})
	}
}

// TestGivenBackWithNoQuotaKnown: with the quota only found by throttling,
// Bedrock's bucket is not known, and tokens given back start no more than
// a second of the discovered rate at once: at four calls a second of 100
// tokens, 800 given back start four waiting calls of 100, not eight.
func TestGivenBackWithNoQuotaKnown(t *testing.T) {
	l, clock := newFake(Limits{})
	enqueue(t, l, 100) // sizes the careful start: 400 tokens a second
	big := enqueue(t, l, 800)
	admissions(t, clock, []*waiter{big}) // the moment it fits: the bucket is empty
	waiting := enqueueMany(t, l, 8, 100)
	l.ticket(big).Done(0) // 800 back
	if got := admitted(waiting); got != 4 {
		t.Fatalf("%d of 8 waiting calls started with 800 given back, want 4 (a second of the rate)", got)
	}
}
