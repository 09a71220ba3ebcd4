package ratelimit

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Fit compares a run's concurrency with the calls in flight its quota can
// hold. A call holds its reservation (input + maxTokens) from start to
// end, so a tokens-per-minute quota holds quota/60 ÷ reservation calls in
// flight per second a call takes; once calls have settled, what they
// really count (input + output × burndown) gives the calls in flight at
// the quota instead. More workers than that only wait for the quota; far
// fewer cannot reach it.
type Fit struct {
	Quota Quota
	// Reservation is the tokens a call reserves, on average.
	Reservation float64
	// WithoutInput says Reservation counts maxTokens only: before the
	// first record is read, input tokens come on top, and what the quota
	// holds is at most what Fit says.
	WithoutInput bool
	// Settled is the quota tokens a call counts once settled, on
	// average; 0 when no call has settled yet (Reservation stands in).
	Settled float64
	// Latency is how long a call takes; 0 when not known yet.
	Latency time.Duration
	// Concurrency is the run's concurrency; 0 to give no advice.
	Concurrency int
}

// How far the concurrency must be from the calls in flight at the quota
// before Advice says so: far above, the extra workers only wait; below,
// by more than measurement noise, the quota is out of reach.
const (
	farAbove = 4
	farBelow = 0.8
)

// PerSecond is the calls in flight the quota holds per second a call
// takes: its tokens per second over each call's tokens (settled if known,
// else reserved), or its requests per second if fewer; 0 without a quota.
func (f Fit) PerSecond() float64 {
	var n float64
	if per := f.perCall(); f.Quota.TokensPerMinute > 0 && per > 0 {
		n = float64(f.Quota.TokensPerMinute) / 60 / per
	}
	if f.Quota.RequestsPerMinute > 0 {
		if r := float64(f.Quota.RequestsPerMinute) / 60; n == 0 || r < n {
			n = r
		}
	}
	return n
}

func (f Fit) perCall() float64 {
	if f.Settled > 0 {
		return f.Settled
	}
	return f.Reservation
}

// InFlight is the calls in flight the quota holds at Latency; 0 when the
// quota or the latency is not known.
func (f Fit) InFlight() float64 { return f.PerSecond() * f.Latency.Seconds() }

// A run whose calls in flight at the quota hold more than rampWarn of
// quota in reservations is told how long it takes to build them up.
const rampWarn = 10 * time.Second

// Reserving says what a reservation far above what calls settle costs,
// or "" when it costs little. A call reserving more than the least
// Bedrock's bucket holds (least seconds of quota) starts only into a
// full bucket, one at a time: no client reaches the quota. Below that,
// the reservations of the calls in flight at the quota (latency ×
// reserved ÷ settled seconds of quota) are built up from quota left
// unused, which takes about that long again for each e-fold: a short run
// ends before it reaches the quota.
func (f Fit) Reserving() string {
	if f.Quota.TokensPerMinute <= 0 || f.Reservation <= 0 {
		return ""
	}
	bucket := least * float64(f.Quota.TokensPerMinute) / 60
	if f.Reservation > bucket {
		return fmt.Sprintf("a call reserves %.0f tokens, more than the %.0f (%d s of quota) Bedrock's bucket holds at the least: calls start one at a time and the run cannot reach the quota; lower --max-tokens toward what answers use",
			f.Reservation, bucket, least)
	}
	if f.Settled <= 0 || f.Latency <= 0 {
		return ""
	}
	ramp := time.Duration(float64(f.Latency) * f.Reservation / f.Settled)
	if ramp <= rampWarn {
		return ""
	}
	return fmt.Sprintf("calls reserve %.0f tokens and settle %.0f: at the quota those in flight hold %s of quota, built up from quota left unused, so the run nears the quota only after about %s; lower --max-tokens toward what answers use",
		f.Reservation, f.Settled, ramp.Round(time.Second), (3 * ramp).Round(time.Second))
}

// String says what the quota holds and why, or "" without a quota; a
// reservation too large for Bedrock's bucket is said too.
func (f Fit) String() string {
	s := f.holds()
	if r := f.Reserving(); s != "" && r != "" && f.Settled <= 0 {
		s += "; " + r
	}
	return s
}

func (f Fit) holds() string {
	per := f.PerSecond()
	if per == 0 {
		return ""
	}
	var why []string
	if f.Quota.TokensPerMinute > 0 && f.perCall() > 0 {
		kind := "tokens reserved"
		switch {
		case f.Settled > 0:
			kind = "tokens settled"
		case f.WithoutInput:
			kind = "maxTokens, input on top,"
		}
		why = append(why, fmt.Sprintf("%d tokens/min ÷ %.0f %s a call", f.Quota.TokensPerMinute, f.perCall(), kind))
	}
	if f.Quota.RequestsPerMinute > 0 {
		why = append(why, fmt.Sprintf("%d requests/min", f.Quota.RequestsPerMinute))
	}
	about := "about"
	if f.WithoutInput {
		about = "at most"
	}
	if f.Latency <= 0 {
		s := fmt.Sprintf("the quota holds %s %.1f calls in flight per second a call takes (%s)", about, per, strings.Join(why, ", "))
		if f.Concurrency > 0 {
			// At latency L the quota holds per×L calls: the concurrency
			// reaches it while L ≤ c/per, and is far above it below a
			// farAbove-th of that.
			reach := time.Duration(float64(f.Concurrency) / per * float64(time.Second))
			s += fmt.Sprintf("; concurrency %d reaches it while a call takes under %s, and at under %s a call most workers only wait",
				f.Concurrency, reach.Round(100*time.Millisecond), (reach / farAbove).Round(100*time.Millisecond))
		}
		return s
	}
	return fmt.Sprintf("the quota holds %s %.1f calls in flight (%s, × %s a call)",
		about, f.InFlight(), strings.Join(why, ", "), f.Latency.Round(time.Millisecond))
}

// Advice says what a concurrency far from the calls in flight the quota
// holds costs, and what reservations far above what calls settle cost
// (Reserving), or "" when neither is far (or cannot be told yet).
func (f Fit) Advice() string {
	var advice []string
	n := f.InFlight()
	if c := float64(f.Concurrency); n > 0 && c > 0 {
		switch {
		case c > farAbove*max(n, 1):
			advice = append(advice, fmt.Sprintf("concurrency %d is far above what the quota keeps busy: %s; the extra workers only wait",
				f.Concurrency, f.holds()))
		case c < farBelow*n:
			advice = append(advice, fmt.Sprintf("concurrency %d is below what the quota keeps busy: %s; the run cannot reach the quota, raise the concurrency to about %.0f",
				f.Concurrency, f.holds(), n))
		}
	}
	if r := f.Reserving(); r != "" && f.Settled > 0 {
		advice = append(advice, r)
	}
	return strings.Join(advice, "; ")
}

// fitCalls is how many calls of a model settle before its concurrency is
// judged against its quota, on their measured latency and usage.
const fitCalls = 20

// advisor tells, once per model, when a run's concurrency is far from what
// the model's quota keeps busy.
type advisor struct {
	mu          sync.Mutex
	concurrency int
	warn        func(model, advice string)
}

func (a *advisor) get() (int, func(model, advice string)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.concurrency, a.warn
}

func (a *advisor) tell(model, advice string) {
	if _, warn := a.get(); warn != nil {
		warn(model, advice)
	}
}

// AdviseConcurrency makes Models judge concurrency against each model's
// quota once fitCalls of its calls have settled (their latency, reservation
// and settled tokens measured), and call warn once with Fit.Advice when it
// is far off. Models without a known quota are not judged.
func (m *Models) AdviseConcurrency(concurrency int, warn func(model, advice string)) {
	m.advisor.mu.Lock()
	defer m.advisor.mu.Unlock()
	m.advisor.concurrency, m.advisor.warn = concurrency, warn
}

// adviceLocked is the model's advice, once, when fitCalls calls have
// settled; the caller holds s.mu.
func (s *model) adviceLocked() string {
	if s.advised || s.stats.ok < fitCalls {
		return ""
	}
	s.advised = true
	concurrency, warn := s.advisor.get()
	if warn == nil {
		return ""
	}
	return s.fitLocked(concurrency).Advice()
}

// fitLocked is the model's Fit on what its calls have shown so far, for
// this worker's share of the quota.
func (s *model) fitLocked(concurrency int) Fit {
	f := Fit{Quota: s.limiter.shareOfQuota(s.quota), Concurrency: concurrency}
	if s.stats.calls > 0 {
		f.Reservation = float64(s.stats.reserved) / float64(s.stats.calls)
	}
	if s.stats.ok > 0 {
		f.Settled = s.stats.settled / float64(s.stats.ok)
		f.Latency = s.stats.latency / time.Duration(s.stats.ok)
	}
	return f
}

// shareOfQuota is q times the share of the limits this worker may use.
func (l *Limiter) shareOfQuota(q Quota) Quota {
	l.mu.Lock()
	share := shareOf(l.limits)
	l.mu.Unlock()
	q.RequestsPerMinute = int64(float64(q.RequestsPerMinute) * share)
	q.TokensPerMinute = int64(float64(q.TokensPerMinute) * share)
	return q
}

// Fit is model's Fit before its calls have run: this worker's share of
// the model's quota against calls that reserve r (r.MaxTokens 0: the
// model's maximum output, as Bedrock reserves; r.InputTokens 0: the input
// is not known yet, and the Fit is an upper bound) at the given
// concurrency, with no latency known.
func (m *Models) Fit(model string, r Reservation, concurrency int) Fit {
	s := m.model(model)
	maxTokens := r.MaxTokens
	if maxTokens <= 0 {
		maxTokens = s.maxTokens
	}
	return Fit{
		Quota:        s.limiter.shareOfQuota(s.quota),
		Reservation:  float64(max(r.InputTokens, 0) + max(r.CacheTokens, 0) + maxTokens),
		WithoutInput: r.InputTokens <= 0 && r.CacheTokens <= 0,
		Concurrency:  concurrency,
	}
}
