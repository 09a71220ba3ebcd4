package ratelimit

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) advance(d time.Duration) { c.now = c.now.Add(d) }

func newFake(limits Limits) (*Limiter, *fakeClock) {
	clock := &fakeClock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	return NewWithClock(limits, clock), clock
}

func reserve(t *testing.T, l *Limiter, tokens int64) (time.Duration, Ticket) {
	t.Helper()
	wait, ticket, err := l.Reserve(tokens)
	if err != nil {
		t.Fatal(err)
	}
	return wait, ticket
}

func TestRequestsArePacedEvenly(t *testing.T) {
	tests := []struct {
		name  string
		rpm   int
		calls int
		want  time.Duration // spacing between starts
	}{
		{"600/min: one every 100ms", 600, 10, 100 * time.Millisecond},
		{"1200/min: one every 50ms", 1200, 30, 50 * time.Millisecond},
		{"7/min", 7, 3, time.Minute / 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newFake(Limits{RequestsPerMinute: tt.rpm})
			for i := range tt.calls {
				wait, _ := reserve(t, l, 10)
				want := time.Duration(i) * tt.want
				if diff := wait - want; diff < -time.Millisecond || diff > time.Millisecond {
					t.Fatalf("call %d waits %v, want %v: starts are not evenly spaced", i, wait, want)
				}
			}
		})
	}
}

func TestTokensReserveAndSettle(t *testing.T) {
	// 6,000 tokens/min: 100 a second, a second's worth of burst.
	l, clock := newFake(Limits{TokensPerMinute: 6000})
	w1, first := reserve(t, l, 100)
	w2, _ := reserve(t, l, 100)
	if w1 != 0 || w2 != time.Second {
		t.Fatalf("waits %v, %v; want 0 and 1s", w1, w2)
	}
	// The first call used 20 of its 100: 80 come back, so the next call of
	// 100 waits for 120 tokens of debt (1.2 s), not 200.
	first.Done(20)
	if w3, _ := reserve(t, l, 100); w3 != 1200*time.Millisecond {
		t.Fatalf("after settling, wait %v, want 1.2s", w3)
	}
	// A call that used more than it reserved takes the extra.
	clock.advance(10 * time.Second) // refill to capacity
	_, ticket := reserve(t, l, 50)
	ticket.Done(150)
	if w, _ := reserve(t, l, 50); w != 1000*time.Millisecond {
		t.Fatalf("after an overrun, wait %v, want 1s", w)
	}
}

func TestTooLargeIsAnErrorNotADeadlock(t *testing.T) {
	l, _ := newFake(Limits{TokensPerMinute: 6000})
	if _, _, err := l.Reserve(6001); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
	// Exactly the quota is allowed: it waits, it is not refused.
	if wait, _ := reserve(t, l, 6000); wait <= 0 {
		t.Fatalf("a whole minute's tokens should wait, got %v", wait)
	}
}

func TestAdaptiveWithKnownLimit(t *testing.T) {
	l, clock := newFake(Limits{RequestsPerMinute: 600, TokensPerMinute: 60000})
	_, ticket := reserve(t, l, 10)
	ticket.Throttled()
	if got := l.Rate(); math.Abs(got.RequestsPerMinute-420) > 1e-6 || math.Abs(got.TokensPerMinute-42000) > 1e-6 {
		t.Fatalf("after a throttle: %+v, want 420 req/min and 42000 tokens/min", got)
	}
	// Calls in flight when the quota was hit are throttled too: one
	// decrease per cooldown, not one per call.
	for range 10 {
		_, ticket := reserve(t, l, 10)
		ticket.Throttled()
	}
	if got := l.Rate().RequestsPerMinute; math.Abs(got-420) > 1e-6 {
		t.Fatalf("a burst of throttles decreased more than once: %v", got)
	}
	clock.advance(cooldown)
	_, ticket = reserve(t, l, 10)
	ticket.Throttled()
	if got := l.Rate().RequestsPerMinute; math.Abs(got-294) > 1e-6 {
		t.Fatalf("second decrease: %v, want 294", got)
	}
	// Quiet seconds bring it back, additively, to the limit and no further.
	for range 30 {
		clock.advance(increaseEvery)
		_, ticket := reserve(t, l, 10)
		ticket.Done(10)
	}
	if got := l.Rate(); got.RequestsPerMinute != 600 || got.Factor != 1 || got.Throttles != 12 {
		t.Fatalf("after quiet: %+v", got)
	}
}

func TestAdaptiveDiscoversAnUnknownLimit(t *testing.T) {
	l, clock := newFake(Limits{})
	// Unlimited at first: 50 calls succeed 100ms apart, none waits.
	for range 50 {
		wait, ticket := reserve(t, l, 10)
		if wait != 0 {
			t.Fatalf("no limit known, but a call waits %v", wait)
		}
		ticket.Done(10)
		clock.advance(100 * time.Millisecond)
	}
	_, ticket := reserve(t, l, 10)
	ticket.Throttled()
	// About 600/min were succeeding; the rate restarts at 0.9 of that.
	got := l.Rate().RequestsPerMinute
	if got < 500 || got > 580 {
		t.Fatalf("discovered %v requests/min, want about 540", got)
	}
	// Now calls are paced at that rate.
	first, _ := reserve(t, l, 10)
	second, _ := reserve(t, l, 10)
	if spacing := second - first; math.Abs(spacing.Seconds()-60/got) > 0.002 {
		t.Fatalf("spacing %v, want %vs", spacing, 60/got)
	}
	// And probe upwards while nothing is throttled.
	for range 10 {
		clock.advance(increaseEvery)
		_, ticket := reserve(t, l, 10)
		ticket.Done(10)
	}
	if after := l.Rate().RequestsPerMinute; after <= got*1.3 {
		t.Fatalf("after 10 quiet seconds the rate is %v, was %v: it does not probe up", after, got)
	}
}

func TestWaitGivesBackOnCancel(t *testing.T) {
	l, _ := newFake(Limits{TokensPerMinute: 60})
	reserve(t, l, 60) // a minute of debt ahead
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Wait(ctx, 30); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	// The cancelled 30 came back: the next 30 waits for the 59 of debt
	// plus its own 30, not for the cancelled call's 30 as well.
	if wait, _ := reserve(t, l, 30); wait != 89*time.Second {
		t.Fatalf("wait %v, want 89s", wait)
	}
}

func TestShareIsACeiling(t *testing.T) {
	l, clock := newFake(Limits{RequestsPerMinute: 1200, TokensPerMinute: 120000, Share: 0.25})
	if got := l.Rate(); got.RequestsPerMinute != 300 || got.TokensPerMinute != 30000 {
		t.Fatalf("a quarter shard runs at %+v, want 300 req/min and 30000 tokens/min", got)
	}
	_, ticket := reserve(t, l, 10)
	ticket.Throttled()
	for range 60 {
		clock.advance(increaseEvery)
		_, ticket := reserve(t, l, 10)
		ticket.Done(10)
	}
	// Back to its share after a throttle, and never above it: the other
	// shards may be running.
	if got := l.Rate().RequestsPerMinute; got != 300 {
		t.Fatalf("after a throttle and a quiet minute: %v req/min, want its share, 300", got)
	}
}

// TestRandomThrottlingDoesNotStarveTheRun: a service that throttles one call
// in ten whatever the rate must not drive the rate to nothing, because
// slowing down does not lower the share throttled.
func TestRandomThrottlingDoesNotStarveTheRun(t *testing.T) {
	for _, limits := range []Limits{{RequestsPerMinute: 6000}, {}} {
		l, clock := newFake(limits)
		for i := range 60 * 100 { // a minute of calls, 100 a second
			clock.advance(10 * time.Millisecond)
			_, ticket := reserve(t, l, 10)
			if i%10 == 9 {
				ticket.Throttled()
			} else {
				ticket.Done(10)
			}
		}
		got := l.Rate().RequestsPerMinute
		if got < 6000*0.4 {
			t.Errorf("limits %v: after a minute of 10%% random throttling the rate is %.0f/min of 6000", limits, got)
		}
	}
}

// TestDiscoversAQuotaWithFewThrottles paces calls against a simulated
// quota of 20 requests a second that the limiter is not told: after a
// minute of finding it, the next minute runs near the quota with few calls
// throttled.
func TestDiscoversAQuotaWithFewThrottles(t *testing.T) {
	l, clock := newFake(Limits{})
	const quota = 20.0 // per second
	level, last := 2*quota, clock.now
	var calls, throttled int
	for clock.now.Sub(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)) < 2*time.Minute {
		wait, ticket := reserve(t, l, 10)
		clock.advance(max(wait, time.Millisecond))
		level = min(2*quota, level+clock.now.Sub(last).Seconds()*quota)
		last = clock.now
		second := clock.now.Sub(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)) > time.Minute
		if level < 1 {
			ticket.Throttled()
			if second {
				throttled++
			}
		} else {
			level--
			ticket.Done(10)
		}
		if second {
			calls++
		}
	}
	share := float64(throttled) / float64(calls)
	rate := float64(calls-throttled) / 60
	if share > 0.05 || rate < quota*0.85 {
		t.Errorf("second minute: %.1f ok calls a second of a quota of %v, %.1f%% throttled", rate, quota, share*100)
	}
}

func TestSetShareTakesUpTheSlack(t *testing.T) {
	l, clock := newFake(Limits{RequestsPerMinute: 1200, Share: 0.25})
	l.SetShare(0.5) // two of four shards have finished
	for range 10 {
		clock.advance(increaseEvery)
		_, ticket := reserve(t, l, 10)
		ticket.Done(10)
	}
	if got := l.Rate().RequestsPerMinute; got != 600 {
		t.Fatalf("with half the quota free: %v req/min, want 600", got)
	}
	l.SetShare(0.25)
	if got := l.Rate().RequestsPerMinute; got != 300 {
		t.Fatalf("share lowered: %v req/min, want 300 at once", got)
	}
}

// TestGivenTokensBringWaitersForward: tokens a settled call gives back
// shorten the waits of calls already waiting, in their order, as Bedrock
// admits calls once settled ones free their reservations.
func TestGivenTokensBringWaitersForward(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	b := newBucket(600, 10, start) // 10 tokens a second, 10 in the bucket
	first, firstTarget := b.take(start, 30)
	second, secondTarget := b.take(start, 30)
	if first != 2*time.Second || second != 5*time.Second {
		t.Fatalf("waits %s and %s, want 2s and 5s", first, second)
	}
	if !b.give(start, 20) { // a call settled 20 tokens under its reservation
		t.Fatal("a give into debt did not bring anyone forward")
	}
	if got := b.remaining(start, firstTarget); got != 0 {
		t.Errorf("first waiter still waits %s, want 0", got)
	}
	if got := b.remaining(start, secondTarget); got != 3*time.Second {
		t.Errorf("second waiter waits %s, want 3s", got)
	}
	if got := b.remaining(start.Add(time.Second), secondTarget); got != 2*time.Second {
		t.Errorf("a second later the second waiter waits %s, want 2s", got)
	}
	if b.give(start.Add(10*time.Second), -5) {
		t.Error("taking more tokens (an overrun) brought waiters forward")
	}
}
