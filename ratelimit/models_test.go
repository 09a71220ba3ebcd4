package ratelimit

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// timerClock is a fake TimerClock: time moves only by advance, which fires
// the timers it passes. Every timer armed is announced on armed.
type timerClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
	armed  chan time.Duration
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newTimerClock() *timerClock { return &timerClock{now: t0, armed: make(chan time.Duration, 100)} }

func (c *timerClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *timerClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	c.timers = append(c.timers, fakeTimer{c.now.Add(d), ch})
	c.mu.Unlock()
	c.armed <- d
	return ch
}

func (c *timerClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if tm.at.After(c.now) {
			kept = append(kept, tm)
		} else {
			tm.c <- c.now
		}
	}
	c.timers = kept
}

// reserveModel admits a call without waiting, failing on an error or on a
// call that must wait for calls in flight.
func reserveModel(t *testing.T, m *Models, model string, r Reservation) (time.Duration, *ModelTicket) {
	t.Helper()
	wait, ticket, retry, err := m.model(model).reserve(r)
	if err != nil {
		t.Fatal(err)
	}
	if retry != nil {
		t.Fatal("the call waits for calls in flight to settle")
	}
	return wait, ticket
}

func near(got, want time.Duration) bool { return (got - want).Abs() <= time.Millisecond }

func TestModelsArePacedAtTheirOwnQuotas(t *testing.T) {
	const (
		sonnet  = "us.anthropic.claude-sonnet-4-20250514-v1:0"
		nova    = "amazon.nova-lite-v1:0"
		profile = "us.amazon.nova-lite-v1:0"
	)
	tests := []struct {
		name   string
		models map[string]int64 // model: tokens per minute
		tokens int64            // each call's reservation
		calls  int              // per model, interleaved
	}{
		{"slow and fast model side by side", map[string]int64{sonnet: 6000, nova: 60000}, 100, 30},
		{"a cross-Region profile is a model of its own", map[string]int64{nova: 6000, profile: 12000}, 200, 20},
		{"the default quota, one limiter each", map[string]int64{"meta.llama3-70b": 0, "mistral.mistral-large-2407-v1:0": 0}, 100, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			per := map[string]Quota{}
			for model, tpm := range tt.models {
				if tpm > 0 {
					per[model] = Quota{TokensPerMinute: tpm}
				}
			}
			const defaultTPM = 3000
			m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: defaultTPM}, PerModel: per}, &fakeClock{now: t0})
			for i := range tt.calls {
				for model, tpm := range tt.models {
					if tpm == 0 {
						tpm = defaultTPM
					}
					// A second of quota of burst, then one call every
					// tokens/rate: wait_i = ((i+1)·tokens - burst)/rate.
					perSec := float64(tpm) / 60
					want := time.Duration(max(0, float64(int64(i+1)*tt.tokens)-perSec) / perSec * float64(time.Second))
					wait, _ := reserveModel(t, m, model, Reservation{InputTokens: tt.tokens / 2, MaxTokens: tt.tokens - tt.tokens/2})
					if !near(wait, want) {
						t.Fatalf("%s call %d waits %v, want %v", model, i, wait, want)
					}
				}
			}
		})
	}
}

// TestWaitingForOneModelDoesNotBlockAnother: a caller asleep in Wait for
// model A, whose quota is spent for the next minute, holds nothing that a
// caller of model B needs.
func TestWaitingForOneModelDoesNotBlockAnother(t *testing.T) {
	const a, b = "anthropic.claude-opus-4-20250514-v1:0", "amazon.nova-pro-v1:0"
	clock := newTimerClock()
	m := NewModels(ModelsConfig{PerModel: map[string]Quota{
		a: {TokensPerMinute: 600},   // 10 a second
		b: {TokensPerMinute: 60000}, // 1,000 a second
	}}, clock)
	ctx := context.Background()
	reserveModel(t, m, a, Reservation{InputTokens: 10, MaxTokens: 590}) // a minute of A's quota
	blocked := make(chan error, 1)
	go func() {
		_, err := m.Wait(ctx, a, Reservation{InputTokens: 10, MaxTokens: 90})
		blocked <- err
	}()
	if d := <-clock.armed; !near(d, 69*time.Second) {
		t.Fatalf("A's second call sleeps %v, want 69s (590 of debt and its own 100 at 10/s)", d)
	}
	// B: ten calls of 100 run at once out of its second of burst, without
	// the clock moving, while A sleeps.
	done := make(chan error, 1)
	go func() {
		for range 10 {
			if _, err := m.Wait(ctx, b, Reservation{InputTokens: 50, MaxTokens: 50}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-blocked:
		t.Fatal("A's waiter returned before its time")
	case <-time.After(10 * time.Second): // a failsafe, never reached when it works
		t.Fatal("B's callers are held up behind A's waiter")
	}
	select {
	case <-blocked:
		t.Fatal("A's waiter returned before its time")
	default:
	}
	clock.advance(69 * time.Second)
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
}

func TestWaitCancelledGivesBack(t *testing.T) {
	clock := newTimerClock()
	m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 60, TokensPerDay: 1000}}, clock)
	reserveModel(t, m, "x", Reservation{InputTokens: 59, MaxTokens: 1}) // a minute of debt ahead
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := m.Wait(ctx, "x", Reservation{InputTokens: 29, MaxTokens: 1})
		errc <- err
	}()
	<-clock.armed
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if wait, _ := reserveModel(t, m, "x", Reservation{InputTokens: 29, MaxTokens: 1}); wait != 89*time.Second {
		t.Fatalf("wait %v, want 89s: the cancelled call's tokens did not come back", wait)
	}
	r := m.Report()[0]
	if r.Calls != 2 || r.ReservedTokens != 90 || r.DailyLeft != 1000-90 {
		t.Fatalf("report after a cancel: %+v", r)
	}
}

func TestTooLargeForAMinute(t *testing.T) {
	tests := []struct {
		name string
		cfg  ModelsConfig
		r    Reservation
		want error
	}{
		{"larger than the minute", ModelsConfig{Default: Quota{TokensPerMinute: 6000}}, Reservation{InputTokens: 3000, CacheTokens: 1, MaxTokens: 3000}, ErrTooLarge},
		{"exactly the minute", ModelsConfig{Default: Quota{TokensPerMinute: 6000}}, Reservation{InputTokens: 3000, MaxTokens: 3000}, nil},
		{"no maxTokens reserves the model's 64,000", ModelsConfig{Default: Quota{TokensPerMinute: 50000}}, Reservation{InputTokens: 10}, ErrTooLarge},
		{"no maxTokens, a configured default", ModelsConfig{Default: Quota{TokensPerMinute: 50000},
			DefaultMaxTokens: func(string) int64 { return 4000 }}, Reservation{InputTokens: 10}, nil},
		{"larger than the whole day", ModelsConfig{Default: Quota{TokensPerDay: 5000}}, Reservation{InputTokens: 10, MaxTokens: 1000}, ErrDailyBudget}, // 10 + 1000×5
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewModels(tt.cfg, &fakeClock{now: t0})
			_, _, _, err := m.model("eu.anthropic.claude-sonnet-4-20250514-v1:0").reserve(tt.r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "eu.anthropic.claude-sonnet-4") {
				t.Fatalf("error %q does not name the model", err)
			}
		})
	}
}

func TestSettleWhatBedrockCounts(t *testing.T) {
	tests := []struct {
		name    string
		model   string
		r       Reservation
		u       Usage
		settled int64 // quota tokens
	}{
		{"Claude 4: output counts 5 times", "us.anthropic.claude-sonnet-4-20250514-v1:0",
			Reservation{InputTokens: 1000, MaxTokens: 500}, Usage{InputTokens: 1000, OutputTokens: 100}, 1500},
		{"Nova: output counts once", "amazon.nova-pro-v1:0",
			Reservation{InputTokens: 1000, MaxTokens: 500}, Usage{InputTokens: 1000, OutputTokens: 100}, 1100},
		{"cache reads reserved, then released", "amazon.nova-pro-v1:0",
			Reservation{InputTokens: 200, CacheTokens: 2000, MaxTokens: 300}, Usage{InputTokens: 200, CacheReadInputTokens: 2000, OutputTokens: 100}, 300},
		{"cache writes count", "anthropic.claude-3-7-sonnet-20250219-v1:0",
			Reservation{InputTokens: 200, CacheTokens: 2000, MaxTokens: 300}, Usage{InputTokens: 200, CacheWriteInputTokens: 2000, OutputTokens: 100}, 2700},
		{"settling above the reservation takes the extra", "global.anthropic.claude-opus-4-1-20250805-v1:0",
			Reservation{InputTokens: 100, MaxTokens: 1000}, Usage{InputTokens: 100, OutputTokens: 1000}, 5100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// 60,000 a minute: a bucket of 1,000 filling 1,000 a second.
			m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 60000}}, &fakeClock{now: t0})
			_, ticket := reserveModel(t, m, tt.model, tt.r)
			reserved := tt.r.InputTokens + tt.r.CacheTokens + tt.r.MaxTokens
			if level := m.model(tt.model).limiter.tokens.level; level != float64(1000-reserved) {
				t.Fatalf("after admission the bucket is at %v, want %v", level, 1000-reserved)
			}
			ticket.Done(tt.u)
			ticket.Done(tt.u) // a second settlement does nothing
			if level := m.model(tt.model).limiter.tokens.level; level != float64(1000-tt.settled) {
				t.Fatalf("after settling the bucket is at %v, want %v", level, 1000-tt.settled)
			}
			r := m.Report()[0]
			if r.SettledTokens != tt.settled || r.ReservedTokens != reserved || r.Calls != 1 {
				t.Fatalf("report %+v, want %d settled of %d reserved", r, tt.settled, reserved)
			}
		})
	}
}

func TestThrottledAndFailedGiveBack(t *testing.T) {
	m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 60000, RequestsPerMinute: 600}}, &fakeClock{now: t0})
	const model = "amazon.nova-micro-v1:0"
	_, a := reserveModel(t, m, model, Reservation{InputTokens: 500, MaxTokens: 500})
	_, b := reserveModel(t, m, model, Reservation{InputTokens: 500, MaxTokens: 500})
	a.Throttled()
	b.Failed()
	r := m.Report()[0]
	if r.Throttled != 1 || r.Failed != 1 || r.SettledTokens != 0 || r.Rate.Factor != decreaseFactor {
		t.Fatalf("report %+v", r)
	}
	if level := m.model(model).limiter.tokens.level; level != 1000 {
		t.Fatalf("bucket at %v, want everything back", level)
	}
}

func TestSetShareAppliesToEveryModel(t *testing.T) {
	m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 60000}, Share: 0.5}, &fakeClock{now: t0})
	m.EstimateInput("a", 1) // made before the change
	if got := m.model("a").limiter.Rate().TokensPerMinute; got != 30000 {
		t.Fatalf("half a share: %v tokens/min", got)
	}
	m.SetShare(0.25)
	for _, model := range []string{"a", "b"} { // b is made after
		if got := m.model(model).limiter.Rate().TokensPerMinute; got != 15000 {
			t.Fatalf("%s at a quarter share: %v tokens/min, want 15000", model, got)
		}
	}
}

func TestInputRatioConverges(t *testing.T) {
	tests := []struct {
		name  string
		truth float64 // real input / the caller's estimate
		exact bool
		want  float64 // EstimateInput(1000) after 100 calls
	}{
		{"estimates too low", 1.3, false, 1300},
		{"estimates too high", 0.8, false, 800},
		{"far off: clamped", 10, false, 4000},
		{"counted exactly: left alone", 1.3, true, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			m := NewModels(ModelsConfig{}, clock)
			const model = "us.meta.llama3-3-70b-instruct-v1:0"
			if tt.exact {
				m.ObserveExactInput(model)
			}
			for i := range 100 {
				raw := int64(900 + 10*(i%21)) // 900..1100
				input := m.EstimateInput(model, raw)
				_, ticket := reserveModel(t, m, model, Reservation{InputTokens: input * 3 / 4, CacheTokens: input - input*3/4, MaxTokens: 100})
				real := int64(math.Round(float64(raw) * tt.truth))
				ticket.Done(Usage{InputTokens: real / 2, CacheReadInputTokens: real - real/2, OutputTokens: 50})
				clock.advance(time.Second)
			}
			if got := float64(m.EstimateInput(model, 1000)); math.Abs(got-tt.want) > tt.want*0.01 {
				t.Fatalf("EstimateInput(1000) = %v after 100 calls, want %v", got, tt.want)
			}
		})
	}
}

func BenchmarkModelsWaitDone(b *testing.B) {
	m := NewModels(ModelsConfig{Default: Quota{TokensPerDay: math.MaxInt64}}, nil)
	ctx := context.Background()
	r := Reservation{InputTokens: 1000, MaxTokens: 1000}
	u := Usage{InputTokens: 1000, OutputTokens: 300}
	b.ReportAllocs()
	for b.Loop() {
		ticket, err := m.Wait(ctx, "us.anthropic.claude-sonnet-4-20250514-v1:0", r)
		if err != nil {
			b.Fatal(err)
		}
		ticket.Done(u)
	}
}
