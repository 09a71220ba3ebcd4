package ratelimit

import (
	"math"
	"time"
)

// ModelTicket is one admitted call; exactly one of Done, Throttled, Failed
// or DailyQuotaExhausted settles it (later calls do nothing).
type ModelTicket struct {
	s        *model
	t        Ticket
	reserved int64   // taken from the per-minute bucket
	charge   float64 // taken from the daily budget: the most it can settle to
	input    int64   // InputTokens + CacheTokens reserved
	ratio    float64 // the input ratio when it was admitted
	settled  bool
	// admittedAt is when the limiter let it start: settling measures
	// the call's latency from it.
	admittedAt time.Time
}

// begin marks the ticket settled, under s.mu; false if it already was.
func (t *ModelTicket) begin() bool {
	if t == nil || t.s == nil || t.settled {
		return false
	}
	t.settled = true
	return true
}

// Done settles a call that succeeded: its model's quota is charged what
// Bedrock counts, InputTokens + CacheWriteInputTokens + OutputTokens ×
// burndown; cache reads, reserved at admission, are released.
func (t *ModelTicket) Done(u Usage) {
	if t == nil || t.s == nil {
		return
	}
	s := t.s
	quota := float64(u.InputTokens+u.CacheWriteInputTokens) + float64(u.OutputTokens)*s.burndown
	s.mu.Lock()
	if !t.begin() {
		s.mu.Unlock()
		return
	}
	now := s.clock.Now()
	s.daily.settle(t.charge, quota)
	s.learn(t, u)
	s.stats.done(now, u, quota)
	s.stats.ok++
	s.stats.latency += now.Sub(t.admittedAt)
	advice := s.adviceLocked()
	s.mu.Unlock()
	t.t.Done(int64(math.Round(quota)))
	if advice != "" {
		s.advisor.tell(s.id, advice)
	}
}

// Throttled settles a call Bedrock throttled: it used no tokens, and its
// model slows down (Limiter's adaptive rate).
func (t *ModelTicket) Throttled() {
	if t.end(func(s *model) { s.stats.throttled++ }) {
		t.t.Throttled()
	}
}

// Failed settles a call that failed for another reason; its tokens are
// given back.
func (t *ModelTicket) Failed() {
	if t.end(func(s *model) { s.stats.failed++ }) {
		t.t.Failed()
	}
}

// DailyQuotaExhausted settles a call Bedrock refused because the model's
// daily quota is spent: from now on, for a day, Wait for the model returns
// ErrDailyQuotaExhausted at once, including to callers already waiting.
func (t *ModelTicket) DailyQuotaExhausted() {
	if t.end(func(s *model) { s.stats.failed++; s.daily.exhaustedAt = s.clock.Now() }) {
		t.t.Failed()
	}
}

// end settles a ticket that used no tokens, running f under the model's
// lock; false if it was already settled.
func (t *ModelTicket) end(f func(*model)) bool {
	if t == nil || t.s == nil {
		return false
	}
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !t.begin() {
		return false
	}
	s.daily.settle(t.charge, 0)
	f(s)
	return true
}

// cancel gives back a reservation whose call never started.
func (t *ModelTicket) cancel() {
	if t.end(func(s *model) { s.stats.calls--; s.stats.reserved -= t.reserved }) {
		t.t.cancel()
	}
}

// EstimateInput corrects an estimate of a model's input tokens by the
// ratio of real to estimated input the model's settled calls have shown
// (exponentially weighted, starting at 1, within [0.25, 4]), so
// reservations converge on what Bedrock counts. Pass the corrected value
// in Reservation: settlement learns by comparing Usage with it.
func (m *Models) EstimateInput(model string, estimate int64) int64 {
	s := m.model(model)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exact {
		return estimate
	}
	return int64(math.Round(float64(estimate) * s.ratio))
}

// ObserveExactInput says that the caller counts this model's input tokens
// exactly (CountTokens): from now on EstimateInput leaves them as they are
// and settlements teach nothing.
func (m *Models) ObserveExactInput(model string) {
	s := m.model(model)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exact = true
}

// learn moves the input ratio toward what a settled call showed: all the
// input Bedrock counted (cached or not) against all the input reserved,
// taken back to the caller's uncorrected estimate.
func (s *model) learn(t *ModelTicket, u Usage) {
	if s.exact || t.input <= 0 {
		return
	}
	real := float64(u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens)
	estimate := float64(t.input) / t.ratio
	sample := min(max(real/estimate, minRatio), maxRatio)
	s.ratio = min(max(s.ratio+ratioWeight*(sample-s.ratio), minRatio), maxRatio)
}
