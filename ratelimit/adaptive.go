package ratelimit

import (
	"math"
	"time"
)

// decrease slows the whole run after a throttle: multiplicatively, at most
// once per cooldown.
func (l *Limiter) decrease(now time.Time) {
	if now.Sub(l.lastDecrease) < cooldown {
		return
	}
	l.lastDecrease, l.lastIncrease = now, now
	if l.limits.RequestsPerMinute == 0 {
		// While Bedrock throttles, the calls that still succeed are about
		// what the quota allows: never stay above that, so the first
		// throttle of an unlimited start does not take many halvings.
		measured := l.recentSuccessesPerMinute(now) * successShare
		l.discovered = max(min(l.discovered*decreaseFactor, measured), 1)
		l.stepPerMin = max(l.discovered*increaseStep, 1)
	}
	l.factor = max(l.factor*decreaseFactor, minFactor)
	l.apply(now)
}

// increase probes back up after a quiet increaseEvery: additively.
func (l *Limiter) increase(now time.Time) {
	if now.Sub(l.lastIncrease) < increaseEvery {
		return
	}
	l.lastIncrease = now
	if l.factor >= 1 && math.IsInf(l.discovered, 1) {
		return
	}
	l.factor = min(1, l.factor+increaseStep)
	if !math.IsInf(l.discovered, 1) {
		l.discovered += l.stepPerMin
	}
	l.apply(now)
}

func (l *Limiter) apply(now time.Time) {
	if l.limits.RequestsPerMinute > 0 {
		l.requests.SetLimitAt(now, perSecond(float64(l.limits.RequestsPerMinute)*l.factor))
	} else {
		l.requests.SetLimitAt(now, perSecond(l.discovered))
	}
	if l.tokens != nil {
		l.tokens.setRate(now, float64(l.limits.TokensPerMinute)*l.factor)
	}
}

// noteSuccess remembers when a call succeeded, keeping only the last
// successWindow, while there is a rate to discover.
func (l *Limiter) noteSuccess(at time.Time) {
	if l.limits.RequestsPerMinute > 0 {
		return
	}
	cut := 0
	for cut < len(l.successes) && at.Sub(l.successes[cut]) > successWindow {
		cut++
	}
	l.successes = append(l.successes[cut:], at)
}

// recentSuccessesPerMinute is the rate of successful calls over the last
// successWindow (or since the first success, if later, but over at least a
// second).
func (l *Limiter) recentSuccessesPerMinute(now time.Time) float64 {
	if len(l.successes) == 0 {
		return 60 // nothing succeeded yet: one a second, a careful start
	}
	span := min(max(now.Sub(l.successes[0]), time.Second), successWindow)
	return float64(len(l.successes)) / span.Minutes()
}

// Rate is where the adaptive rate stands: requests per minute (0 when no
// limit is known and none was discovered) and the share of the known
// limits in use.
type Rate struct {
	RequestsPerMinute float64 `json:"requests_per_minute"`
	TokensPerMinute   float64 `json:"tokens_per_minute"`
	Factor            float64 `json:"factor"`
	Throttles         int64   `json:"throttles"`
}

// Rate reports the current adaptive rate.
func (l *Limiter) Rate() Rate {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := Rate{Factor: l.factor, Throttles: l.throttles}
	switch {
	case l.limits.RequestsPerMinute > 0:
		r.RequestsPerMinute = float64(l.limits.RequestsPerMinute) * l.factor
	case !math.IsInf(l.discovered, 1):
		r.RequestsPerMinute = l.discovered
	}
	if l.tokens != nil {
		r.TokensPerMinute = float64(l.limits.TokensPerMinute) * l.factor
	}
	return r
}
