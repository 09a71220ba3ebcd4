package ratelimit

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestDailyBudgetRefusesOnlyWhatCannotFit runs calls until the budget
// refuses one: what was settled never passes the budget, and what is left
// is less than one more call could count for.
func TestDailyBudgetRefusesOnlyWhatCannotFit(t *testing.T) {
	tests := []struct {
		name     string
		model    string
		inflight int
		charge   float64 // the most one call may count: input + maxTokens × burndown
	}{
		{"one at a time", "amazon.nova-pro-v1:0", 1, 2000},
		{"eight in flight", "amazon.nova-pro-v1:0", 8, 2000},
		{"eight in flight, output 5x", "us.anthropic.claude-sonnet-4-20250514-v1:0", 8, 6000},
	}
	const tpd = 100_000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 1_000_000, TokensPerDay: tpd}}, clock)
			s := m.model(tt.model)
			var flight []*ModelTicket
			var settled float64
			for i := 0; ; i++ {
				clock.advance(time.Second)
				ticket, retry, err := s.charge(Reservation{InputTokens: 1000, MaxTokens: 1000})
				if errors.Is(err, ErrDailyBudget) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if retry == nil {
					w, err := s.limiter.enqueue(ticket.reserved)
					if err != nil || !w.admitted {
						t.Fatalf("not admitted at once: %v", err)
					}
					ticket.t = s.limiter.ticket(w)
					s.admitted(ticket)
					flight = append(flight, ticket)
				}
				if retry != nil || len(flight) == tt.inflight {
					out := int64(i * 37 % 1001) // 0..1000 output tokens
					flight[0].Done(Usage{InputTokens: 1000, OutputTokens: out})
					settled += 1000 + float64(out)*s.burndown
					flight = flight[1:]
				}
			}
			if len(flight) != 0 {
				t.Fatalf("refused with %d calls in flight: they might have left room", len(flight))
			}
			r := m.Report()[0]
			if float64(r.DailyUsed) != settled || r.DailyUsed > tpd {
				t.Fatalf("daily used %d (settled %v), budget %d", r.DailyUsed, settled, tpd)
			}
			if left := tpd - settled; left >= tt.charge || float64(r.DailyLeft) != left {
				t.Fatalf("refused with %v left (report %d) of a call that may count %v", left, r.DailyLeft, tt.charge)
			}
		})
	}
}

// TestWaitForCallsInFlight: a call that fits once calls in flight settle
// waits for them; one that cannot fit at all is refused at once.
func TestWaitForCallsInFlight(t *testing.T) {
	clock := newFakeClock()
	const model = "amazon.nova-lite-v1:0"
	m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 1_000_000, TokensPerDay: 5000}}, clock)
	call := Reservation{InputTokens: 1000, MaxTokens: 1000} // may count 2,000
	ctx := context.Background()
	a := admitNow(t, m, model, call)
	b := admitNow(t, m, model, call)
	third := make(chan *ModelTicket, 1)
	go func() {
		ticket, err := m.Wait(ctx, model, call)
		if err != nil {
			t.Error(err)
		}
		third <- ticket
	}()
	a.Done(Usage{InputTokens: 1000, OutputTokens: 500}) // 1,500 used, 2,000 in flight: no room yet
	select {
	case <-third:
		t.Fatal("admitted with 1,500 used and 2,000 in flight of 5,000")
	default:
	}
	b.Done(Usage{InputTokens: 1000, OutputTokens: 500}) // 3,000 used: room for one
	c := <-third
	c.Done(Usage{InputTokens: 1000, OutputTokens: 1000}) // 5,000 used
	_, err := m.Wait(ctx, model, call)
	if !errors.Is(err, ErrDailyBudget) {
		t.Fatalf("err %v, want ErrDailyBudget", err)
	}
	t.Log(err)
	// A new 24 hours of the run brings the budget back.
	clock.advance(day)
	if _, err := m.Wait(ctx, model, call); err != nil {
		t.Fatalf("a day later: %v", err)
	}
}

func TestDailyQuotaExhaustedFailsFast(t *testing.T) {
	const a, b = "us.anthropic.claude-sonnet-4-20250514-v1:0", "amazon.nova-pro-v1:0"
	clock := newFakeClock()
	m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 600}}, clock)
	ctx := context.Background()
	call := Reservation{InputTokens: 100, MaxTokens: 200}
	first := admitAfter(t, clock, m, a, call)
	waiting := make(chan error, 1)
	go func() {
		_, err := m.Wait(ctx, a, call)
		waiting <- err
	}()
	waitForQueue(t, m, a, 1) // asleep for A's quota
	first.DailyQuotaExhausted()

	// No sleeping for the minute's quota: refused at once, with no timer.
	if _, err := m.Wait(ctx, a, call); !errors.Is(err, ErrDailyQuotaExhausted) {
		t.Fatalf("err %v, want ErrDailyQuotaExhausted", err)
	}
	// The caller asleep when it was reported is refused when it wakes.
	clock.advance(time.Minute)
	if err := <-waiting; !errors.Is(err, ErrDailyQuotaExhausted) {
		t.Fatalf("the waiter got %v, want ErrDailyQuotaExhausted", err)
	}
	if _, _, err := m.model(b).charge(call); err != nil {
		t.Fatalf("another model: %v", err)
	}
	if got := m.Exhausted(); !reflect.DeepEqual(got, []string{a}) {
		t.Fatalf("Exhausted() = %v", got)
	}
	for _, r := range m.Report() {
		if r.Exhausted != (r.Model == a) {
			t.Fatalf("report %s: exhausted %v", r.Model, r.Exhausted)
		}
	}
	clock.advance(day)
	if got := m.Exhausted(); len(got) != 0 {
		t.Fatalf("a day later Exhausted() = %v", got)
	}
	if _, _, err := m.model(a).charge(call); err != nil {
		t.Fatalf("a day later: %v", err)
	}
}
