package ratelimit

import (
	"errors"
	"sort"
	"time"
)

// ErrDailyBudget is returned by Models.Wait for a call that does not fit in
// what is left of its model's tokens-per-day budget, even once every call
// in flight has settled. It is wrapped with the model id and the numbers.
var ErrDailyBudget = errors.New("the call does not fit in what is left of the model's tokens-per-day budget")

// ErrDailyQuotaExhausted is returned by Models.Wait at once, for a model
// whose daily quota Bedrock reported spent (ModelTicket.DailyQuotaExhausted),
// for a day from the report. It is wrapped with the model id.
var ErrDailyQuotaExhausted = errors.New("bedrock reported the model's tokens-per-day quota spent")

// day is how long a daily budget lasts, and how long a model Bedrock
// reported exhausted is refused.
const day = 24 * time.Hour

// daily is one model's tokens-per-day budget. It counts from the Models'
// creation (the start of the run), not from a calendar day: Bedrock does not
// say when its day begins, and a user who sets --tpd to what is left of
// today wants that much for this run. A run longer than a day gets the
// budget again each 24 hours from its start: never more than the quota in
// any day (the user's remainder is at most the quota), and a run of
// several days at the full daily quota does not stop after the first.
type daily struct {
	limit    float64   // tokens per day; 0 means none
	start    time.Time // of the current 24 hours
	used     float64   // quota tokens settled since start
	inflight float64   // charges of the calls in flight
	// settled is closed at the next settlement, for callers waiting for
	// calls in flight to settle; nil while none waits.
	settled chan struct{}

	exhaustedAt time.Time // when Bedrock reported the day spent; zero if not
}

// roll starts a new 24 hours when the current one is over, and forgets an
// exhaustion a day old.
func (d *daily) roll(now time.Time) {
	if n := now.Sub(d.start) / day; n > 0 {
		d.start = d.start.Add(n * day)
		d.used = 0
	}
	if !d.exhaustedAt.IsZero() && now.Sub(d.exhaustedAt) >= day {
		d.exhaustedAt = time.Time{}
	}
}

func (d *daily) exhausted(now time.Time) bool {
	d.roll(now)
	return !d.exhaustedAt.IsZero()
}

// admit charges a call that may settle to at most charge quota tokens.
// When the budget cannot take it even after the calls in flight settle, it
// returns errNoFit; when it can only after, it returns a channel closed at
// the next settlement, to try again then.
func (d *daily) admit(charge float64) (retry <-chan struct{}, err error) {
	if d.limit <= 0 {
		d.inflight += charge
		return nil, nil
	}
	switch {
	case d.used+charge > d.limit:
		return nil, errNoFit
	case d.used+d.inflight+charge > d.limit:
		if d.settled == nil {
			d.settled = make(chan struct{})
		}
		return d.settled, nil
	}
	d.inflight += charge
	return nil, nil
}

var errNoFit = errors.New("no fit")

// settle ends a call that was charged charge and used used quota tokens.
func (d *daily) settle(charge, used float64) {
	d.inflight = max(0, d.inflight-charge)
	d.used += used
	if d.settled != nil {
		close(d.settled)
		d.settled = nil
	}
}

// left is what the budget can still admit; -1 without a daily budget.
func (d *daily) left() float64 {
	if d.limit <= 0 {
		return -1
	}
	return max(0, d.limit-d.used-d.inflight)
}

// Exhausted lists, sorted, the models whose daily quota Bedrock reported
// spent within the last 24 hours.
func (m *Models) Exhausted() []string {
	now := m.clock.Now()
	var out []string
	for _, s := range m.all() {
		s.mu.Lock()
		if s.daily.exhausted(now) {
			out = append(out, s.id)
		}
		s.mu.Unlock()
	}
	sort.Strings(out)
	return out
}
