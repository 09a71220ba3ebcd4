package bedrocktest

import "time"

// dayCount is one model's tokens-per-day account: what settled today plus what calls in
// flight reserved. Reservations survive the end of a day (their calls settle into the next).
type dayCount struct {
	limit    float64 // 0 = no daily quota
	used     float64 // settled quota tokens (with burndown) since the day began
	reserved float64 // held by admitted calls not yet settled
}

// fits reports whether a reservation of n tokens fits in what is left of the day. Unlike the
// per-minute bucket there is no exception for a call larger than the quota: the day is a hard
// ceiling.
func (d *dayCount) fits(n float64) bool {
	return d.limit <= 0 || d.used+d.reserved+n <= d.limit
}

// dayClock says when the current day began and how long a day is.
type dayClock struct {
	start  time.Time
	length time.Duration
}

// rollDayLocked starts a new day for every model once the current one has run its length.
func (q *quota) rollDayLocked(now time.Time) {
	elapsed := now.Sub(q.clock.start)
	if elapsed < q.clock.length {
		return
	}
	q.clock.start = q.clock.start.Add(elapsed / q.clock.length * q.clock.length)
	q.resetDayLocked()
}

func (q *quota) resetDayLocked() {
	for _, m := range q.state {
		m.day.used = 0
	}
}

// resetDay starts a new day now.
func (q *quota) resetDay(now time.Time) {
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.clock.start = now
	q.resetDayLocked()
}

// ResetDay starts a new quota day now: every model's settled tokens-per-day count goes back to
// zero (reservations of calls in flight stay), as at midnight. Tests use it instead of
// waiting; Options.DayLength does it on a clock.
func (h *Handler) ResetDay() {
	h.quota.resetDay(time.Now())
}
