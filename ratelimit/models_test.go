package ratelimit

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// admitNow admits a call that must start at once, failing on an error or
// on a call that would have to wait.
func admitNow(t *testing.T, m *Models, model string, r Reservation) *ModelTicket {
	t.Helper()
	mt, w := queueModel(t, m, model, r)
	if !w.admitted {
		t.Fatal("the call waits for the quota")
	}
	return mt
}

// queueModel puts a call in its model's queue without blocking; its ticket
// is good once the waiter is admitted.
func queueModel(t *testing.T, m *Models, model string, r Reservation) (*ModelTicket, *waiter) {
	t.Helper()
	s := m.model(model)
	mt, retry, err := s.charge(r)
	if err != nil {
		t.Fatal(err)
	}
	if retry != nil {
		t.Fatal("the call waits for calls in flight to settle")
	}
	w, err := s.limiter.enqueue(mt.reserved)
	if err != nil {
		t.Fatal(err)
	}
	mt.t = s.limiter.ticket(w)
	s.admitted(mt)
	return mt, w
}

// admitAfter admits a call that must start within a minute of the fake
// clock, moving it on until it does.
func admitAfter(t *testing.T, clock *fakeClock, m *Models, model string, r Reservation) *ModelTicket {
	t.Helper()
	mt, w := queueModel(t, m, model, r)
	admissions(t, clock, []*waiter{w})
	return mt
}

// waitForQueue returns once n callers wait in the model's queue.
func waitForQueue(t *testing.T, m *Models, model string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for m.model(model).limiter.Waiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers never came to wait for %s", n, model)
		}
		time.Sleep(time.Millisecond)
	}
}

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
			clock := newFakeClock()
			m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: defaultTPM}, PerModel: per}, clock)
			var ws []*waiter
			var want []time.Duration
			for i := range tt.calls {
				for model, tpm := range tt.models {
					if tpm == 0 {
						tpm = defaultTPM
					}
					// A second of quota at once, then one call every
					// tokens/rate: start_i = ((i+1)·tokens - burst)/rate,
					// a call of up to 2 s of quota waiting for its own
					// tokens; a larger one starts once the bucket holds
					// 2 s and leaves it in debt: start_i = 1 s +
					// i·tokens/rate.
					perSec, tokens := float64(tpm)/60, float64(tt.tokens)
					start := max(0, float64(i+1)*tokens-perSec) / perSec
					if tokens > least*perSec {
						start = least - 1 + float64(i)*tokens/perSec
					}
					want = append(want, time.Duration(start*float64(time.Second)))
					_, w := queueModel(t, m, model, Reservation{InputTokens: tt.tokens / 2, MaxTokens: tt.tokens - tt.tokens/2})
					ws = append(ws, w)
				}
			}
			for i, at := range admissionsOf(t, clock, ws, len(tt.models)) {
				if !near(at, want[i]) {
					t.Fatalf("call %d starts at %v, want %v", i, at, want[i])
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
	clock := newFakeClock()
	m := NewModels(ModelsConfig{PerModel: map[string]Quota{
		a: {TokensPerMinute: 600},   // 10 a second, a bucket of 10
		b: {TokensPerMinute: 60000}, // 1,000 a second
	}}, clock)
	ctx := context.Background()
	// A minute of A's quota: it starts once the bucket holds what
	// Bedrock's does at the least, 2 s of quota, and leaves it in debt.
	admitAfter(t, clock, m, a, Reservation{InputTokens: 10, MaxTokens: 590})
	blocked := make(chan error, 1)
	go func() {
		_, err := m.Wait(ctx, a, Reservation{InputTokens: 10, MaxTokens: 90})
		blocked <- err
	}()
	waitForQueue(t, m, a, 1)
	// B: ten calls of 100 run at once out of its second of quota, without
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
	// A's bucket is 580 below zero and its waiter, larger than 2 s of
	// quota, needs 20: 60 s of refill.
	clock.advance(59 * time.Second)
	select {
	case <-blocked:
		t.Fatal("A's waiter returned before its time")
	default:
	}
	clock.advance(time.Second)
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
}

func TestWaitCancelledGivesBack(t *testing.T) {
	clock := newFakeClock()
	m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 6000, TokensPerDay: 100000}}, clock)
	admitNow(t, m, "x", Reservation{InputTokens: 99, MaxTokens: 1}) // the whole bucket
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := m.Wait(ctx, "x", Reservation{InputTokens: 49, MaxTokens: 1})
		errc <- err
	}()
	waitForQueue(t, m, "x", 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	r := m.Report()[0]
	if r.Calls != 1 || r.ReservedTokens != 100 || r.DailyLeft != 100000-100 {
		t.Fatalf("report after a cancel: %+v; want the first call only, in the counts and the daily budget", r)
	}
	// Nothing of the cancelled call stays taken: the next call of 50
	// starts after its own half second.
	_, w := queueModel(t, m, "x", Reservation{InputTokens: 49, MaxTokens: 1})
	if at := admissions(t, clock, []*waiter{w}); !near(at[0], 500*time.Millisecond) {
		t.Fatalf("the next call starts after %v, want 500ms", at[0])
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
			m := NewModels(tt.cfg, newFakeClock())
			_, _, err := m.model("eu.anthropic.claude-sonnet-4-20250514-v1:0").charge(tt.r)
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
			clock := newFakeClock()
			m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 60000}}, clock)
			ticket := admitAfter(t, clock, m, tt.model, tt.r)
			reserved := tt.r.InputTokens + tt.r.CacheTokens + tt.r.MaxTokens
			// It starts once the bucket holds it, or 2 s of quota,
			// and takes its whole reservation.
			after := float64(min(reserved, 2000) - reserved)
			if level := m.model(tt.model).limiter.tokens.level; level != after {
				t.Fatalf("after admission the bucket is at %v, want %v", level, after)
			}
			ticket.Done(tt.u)
			ticket.Done(tt.u) // a second settlement does nothing
			// What it did not use comes back, up to the second of
			// quota the bucket holds.
			if level, want := m.model(tt.model).limiter.tokens.level, min(1000, after+float64(reserved-tt.settled)); level != want {
				t.Fatalf("after settling the bucket is at %v, want %v", level, want)
			}
			r := m.Report()[0]
			if r.SettledTokens != tt.settled || r.ReservedTokens != reserved || r.Calls != 1 {
				t.Fatalf("report %+v, want %d settled of %d reserved", r, tt.settled, reserved)
			}
		})
	}
}

func TestThrottledAndFailedGiveBack(t *testing.T) {
	m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 60000, RequestsPerMinute: 600}}, newFakeClock())
	const model = "amazon.nova-micro-v1:0"
	a := admitNow(t, m, model, Reservation{InputTokens: 250, MaxTokens: 250})
	b := admitNow(t, m, model, Reservation{InputTokens: 250, MaxTokens: 250})
	a.Throttled()
	r := m.Report()[0]
	if r.Throttled != 1 || r.SettledTokens != 0 || r.Rate.Factor != decreaseFactor {
		t.Fatalf("report %+v", r)
	}
	// Bedrock's bucket did not hold a: the model's is taken to be empty.
	if level := m.model(model).limiter.tokens.level; level != 0 {
		t.Fatalf("bucket at %v after a throttle, want 0", level)
	}
	b.Failed()
	if r := m.Report()[0]; r.Failed != 1 || r.SettledTokens != 0 {
		t.Fatalf("report %+v", r)
	}
	if level := m.model(model).limiter.tokens.level; level != 500 {
		t.Fatalf("bucket at %v after a failure, want its 500 back", level)
	}
}

func TestSetShareAppliesToEveryModel(t *testing.T) {
	m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 60000}, Share: 0.5}, newFakeClock())
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
			clock := newFakeClock()
			m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 1_000_000}}, clock)
			const model = "us.meta.llama3-3-70b-instruct-v1:0"
			if tt.exact {
				m.ObserveExactInput(model)
			}
			for i := range 100 {
				raw := int64(900 + 10*(i%21)) // 900..1100
				input := m.EstimateInput(model, raw)
				ticket := admitNow(t, m, model, Reservation{InputTokens: input * 3 / 4, CacheTokens: input - input*3/4, MaxTokens: 100})
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
	m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 1 << 40, TokensPerDay: math.MaxInt64}}, nil)
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
