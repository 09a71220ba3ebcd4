package ratelimit

import (
	"math"
	"time"
)

// decrease slows the whole run after a throttle: multiplicatively, at most
// once per cooldown. When the last decrease did not lower the share of
// calls throttled (nor did it jump since), the throttling may not come from
// the rate (a service that throttles some calls whatever the load), and
// slowing down on every throttle would starve the run: it holds, and every
// probeEvery tries a little slower once, keeping the slower rate only if
// the share throttled falls. When most calls are throttled it always slows
// down.
func (l *Limiter) decrease(now time.Time) {
	l.lastThrottle = now
	if now.Sub(l.lastDecrease) < cooldown {
		return
	}
	if l.limits.RequestsPerMinute == 0 && math.IsInf(l.discovered, 1) && len(l.successes) < minSuccessesToMeasure {
		// Too few successes yet to tell what rate the quota allows; the
		// throttled call's own backoff is enough until then.
		return
	}
	share, calls := l.window.throttledShare(now)
	// Two standard errors of a share measured over this many calls: at a
	// few calls a second the share is noisy, and noise is no reason to act.
	margin := func(p float64) float64 {
		return 2 * math.Sqrt(max(p, 0.01)*(1-min(p, 0.99))/float64(max(calls, 1)))
	}
	if l.probing {
		l.probing = false
		l.lastDecrease = now
		if share < 0.5 && share >= l.shareAtProbe-margin(l.shareAtProbe) {
			l.factor, l.discovered = l.beforeProbe.factor, l.beforeProbe.discovered // slower did not help
			l.apply(now)
		} else {
			l.shareAtDecrease = share // slower helped: stay there
		}
		return
	}
	// Did the last decrease help? Over a quota, slowing to f of the rate
	// leaves 1-(1-s)/f of the calls throttled; throttling that does not
	// come from the rate leaves s. Half the expected fall (or two standard
	// errors, if more) counts as help.
	prev := l.shareAtDecrease
	expected := max(0, 1-(1-prev)/decreaseFactor)
	helped := share < prev-max(margin(prev), (prev-expected)/2)
	if !l.lastDecrease.IsZero() && share < 0.5 && !helped && share <= 1.5*prev+margin(prev) {
		if now.Sub(l.lastDecrease) >= probeEvery {
			l.probing, l.shareAtProbe, l.lastDecrease = true, share, now
			l.beforeProbe.factor, l.beforeProbe.discovered = l.factor, l.discovered
			l.factor = max(l.factor*probeFactor, minFactor)
			l.discovered = max(l.discovered*probeFactor, 1)
			l.apply(now)
		}
		return
	}
	l.lastDecrease, l.lastIncrease = now, now
	if l.limits.RequestsPerMinute == 0 {
		// While Bedrock throttles, the calls that still succeed are about
		// what the quota allows: never stay above that, so the first
		// throttle of an unlimited start does not take many halvings.
		measured := l.recentSuccessesPerMinute(now) * successShare
		l.discovered = max(min(l.discovered*decreaseFactor, measured), 1)
		l.stepPerMin = max(l.discovered*increaseStep, 60)
	}
	l.factor = max(l.factor*decreaseFactor, minFactor)
	l.apply(now)
	l.shareAtDecrease = share
}

// callWindow counts calls and throttles over the last two whole seconds.
type callWindow struct {
	second    [2]int64 // unix second of each slot
	calls     [2]int64
	throttles [2]int64
}

func (w *callWindow) slot(now time.Time) int {
	sec := now.Unix()
	i := int(sec & 1)
	if w.second[i] != sec {
		w.second[i], w.calls[i], w.throttles[i] = sec, 0, 0
	}
	return i
}

func (w *callWindow) call(now time.Time)     { w.calls[w.slot(now)]++ }
func (w *callWindow) throttle(now time.Time) { w.throttles[w.slot(now)]++ }

func (w *callWindow) throttledShare(now time.Time) (share float64, calls int64) {
	sec := now.Unix()
	var throttles int64
	for i := range 2 {
		if sec-w.second[i] <= 1 {
			calls += w.calls[i]
			throttles += w.throttles[i]
		}
	}
	if calls == 0 {
		return 1, 0
	}
	return float64(throttles) / float64(calls), calls
}

// increase probes back up after a quiet increaseEvery (no throttle):
// additively.
func (l *Limiter) increase(now time.Time) {
	if now.Sub(l.lastIncrease) < increaseEvery || now.Sub(l.lastThrottle) < increaseEvery {
		return
	}
	l.lastIncrease = now
	l.probing = false // quiet at the slower rate: the probe helped
	if l.factor >= l.ceiling() && math.IsInf(l.discovered, 1) {
		return
	}
	l.factor = min(l.ceiling(), l.factor+increaseStep*l.ceiling())
	if !math.IsInf(l.discovered, 1) {
		l.discovered += l.stepPerMin
	}
	l.apply(now)
}

func (l *Limiter) apply(now time.Time) {
	switch {
	case l.limits.RequestsPerMinute > 0:
		l.requests.SetLimitAt(now, perSecond(float64(l.limits.RequestsPerMinute)*l.factor))
	default:
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
// successWindow (or since the first success, if later, but over at least
// 100 ms).
func (l *Limiter) recentSuccessesPerMinute(now time.Time) float64 {
	if len(l.successes) == 0 {
		return 60 // nothing succeeded yet: one a second, a careful start
	}
	span := min(max(now.Sub(l.successes[0]), 100*time.Millisecond), successWindow)
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

// ceiling is the largest share of the limits this worker may use.
func (l *Limiter) ceiling() float64 {
	if l.limits.Share > 0 && l.limits.Share < 1 {
		return l.limits.Share
	}
	return 1
}

// SetShare changes the share of the limits this worker may use: a shard
// whose siblings have finished takes up their share. A larger share is
// climbed into by the usual increases, a smaller one applies at once.
func (l *Limiter) SetShare(share float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limits.Share = share
	if c := l.ceiling(); l.factor > c {
		l.factor = c
		l.apply(l.clock.Now())
	}
}
