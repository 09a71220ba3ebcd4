package run

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bedrock-batch/bedrock-batch/clock"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
)

// pacer is the run's limiter for the pipeline: each model's own limiter,
// and over all of them the account's daily tokens when the account has
// such a quota (Cross-Model Max Tokens Per Day).
func (r *Run) pacer() pipeline.Limiter {
	models := pipeline.RateLimited(r.limiter)
	day := r.quotas.crossModelTokensPerDay()
	if !day.Known() {
		return models
	}
	burndown, _ := burndownTable(r.cfg)
	return &accountBudget{inner: models, limit: float64(day.Value), quota: day.Quota, burndown: burndown.Factor,
		maxOutput: ratelimit.DefaultMaxOutput, clock: r.deps.Clock, start: r.deps.Clock.Now()}
}

// accountBudget keeps the calls of every model within one daily budget,
// counted as Bedrock counts a model's day: a call is charged, when it is
// admitted, the most it can settle to (input, cache and maxTokens ×
// burndown), and when it ends what it used. A call that does not fit is
// refused with ratelimit.ErrDailyBudget, which stops its model's records
// until the next run, as a model's own daily budget does.
type accountBudget struct {
	inner     pipeline.Limiter
	limit     float64
	quota     string // the quota's name, for messages
	burndown  func(model string) float64
	maxOutput func(model string) int64
	clock     clock.Clock

	mu       sync.Mutex
	start    time.Time // of the current day
	used     float64   // settled today
	inFlight float64   // charged to calls not yet settled
}

func (b *accountBudget) Wait(ctx context.Context, model string, res ratelimit.Reservation) (pipeline.Ticket, error) {
	maxTokens := res.MaxTokens
	if maxTokens <= 0 {
		maxTokens = b.maxOutput(model)
	}
	burndown := b.burndown(model)
	charge := float64(max(res.InputTokens, 0)+max(res.CacheTokens, 0)) + float64(maxTokens)*burndown
	b.mu.Lock()
	b.rollLocked()
	if b.used+b.inFlight+charge > b.limit {
		used := b.used + b.inFlight
		b.mu.Unlock()
		return nil, fmt.Errorf("model %s: %w: the account's tokens per day over every model (%s: %.0f), %.0f used or in flight, the call may count %.0f",
			model, ratelimit.ErrDailyBudget, b.quota, b.limit, used, charge)
	}
	b.inFlight += charge
	b.mu.Unlock()
	t, err := b.inner.Wait(ctx, model, res)
	if err != nil {
		b.settle(charge, 0)
		return nil, err
	}
	return &budgetTicket{Ticket: t, b: b, charge: charge, burndown: burndown}, nil
}

func (b *accountBudget) EstimateInput(model string, estimate int64) int64 {
	return b.inner.EstimateInput(model, estimate)
}

// settle replaces a call's charge with what it used.
func (b *accountBudget) settle(charge, used float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked()
	b.inFlight -= charge
	b.used += used
}

// rollLocked starts a new day 24 hours after the last began.
func (b *accountBudget) rollLocked() {
	if now := b.clock.Now(); now.Sub(b.start) >= 24*time.Hour {
		b.start, b.used = now, 0
	}
}

// budgetTicket settles a call with the budget and with its model's limiter.
type budgetTicket struct {
	pipeline.Ticket
	b        *accountBudget
	charge   float64
	burndown float64
	once     sync.Once
}

func (t *budgetTicket) Done(u ratelimit.Usage) {
	t.once.Do(func() {
		t.b.settle(t.charge, float64(u.InputTokens+u.CacheWriteInputTokens)+float64(u.OutputTokens)*t.burndown)
	})
	t.Ticket.Done(u)
}

func (t *budgetTicket) Throttled() {
	t.once.Do(func() { t.b.settle(t.charge, 0) })
	t.Ticket.Throttled()
}

func (t *budgetTicket) Failed() {
	t.once.Do(func() { t.b.settle(t.charge, 0) })
	t.Ticket.Failed()
}

func (t *budgetTicket) DailyQuotaExhausted() {
	t.once.Do(func() { t.b.settle(t.charge, 0) })
	t.Ticket.DailyQuotaExhausted()
}
