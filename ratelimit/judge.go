package ratelimit

import (
	"math"
	"time"
)

// judgement follows the calls admitted after a decrease (or a series of
// them) to tell whether slowing down helped.
type judgement struct {
	active           bool
	since            time.Time
	before           float64 // x before the series of decreases
	slowStart        bool    // and whether it was in slow start
	f                float64 // what the series has cut the rate to, of where it began
	first            float64 // share throttled after its first decrease; <0 before it is judged
	firstCalls       int64   // calls that share was measured over
	laterCalls       int64   // calls judged since, and of them throttled
	laterThrottles   int64
	calls, throttles int // settled calls admitted since the last decrease
}

// conclude judges the last decrease once enough calls tell; it reports a
// change of rate. Below a quota calls stop being throttled, beyond the
// background already known: the decrease helped. If they are still
// throttled the rate goes on down; when at the lower rates the share
// throttled (over every judgement since the series' first) has neither
// halved nor fallen clearly since that first judgement, the throttling
// does not come from the rate: the series is undone and its share becomes
// background. A series stops at seriesFloor of the rate where it began:
// there, unless the share has fallen to a quarter, it is undone too.
func (c *controller) conclude(now time.Time) bool {
	j := &c.judge
	waited := now.Sub(j.since)
	if !j.active || waited < judgeTime {
		return false
	}
	if j.calls < judgeCalls && (waited < judgeLongest || j.calls < judgeFewest) {
		// A slow run (a few calls a second) that has seen no throttle
		// for judgeLongest is below the quota: waiting for judgeFewest
		// calls would hold it there for most of a minute.
		if waited < judgeLongest || j.throttles > 0 || j.calls < judgeQuiet {
			return false
		}
	}
	after, n := float64(j.throttles)/float64(j.calls), int64(j.calls)
	if j.throttles == 0 && j.first > 0 && float64(n) < 3/j.first && waited < judgeLongest {
		return false // too few calls yet to tell none from the share seen before
	}
	if noise := c.background(); j.throttles == 0 || noise > 0 && after <= noise+margin(noise, n) {
		j.active = false
		if after < c.noise/2 {
			// Below the quota far fewer calls were throttled than the
			// background said: it was overrated.
			c.noise = (c.noise + after) / 2
		}
		return false
	}
	if j.first < 0 {
		j.first, j.firstCalls = after, n
		c.decrease(now)
		return true
	}
	j.laterCalls += n
	j.laterThrottles += int64(j.throttles)
	later := float64(j.laterThrottles) / float64(j.laterCalls)
	switch {
	case j.f > seriesFloor && (later < j.first/2 || fell(j.first, j.firstCalls, later, j.laterCalls)):
		c.decrease(now)
		return true
	case j.f <= seriesFloor && later < j.first/4:
		j.active = false // far enough down: a few throttles left are the quota's
		return false
	}
	j.active = false
	// Every judgement saw the background: the share over them all.
	c.shown = max(c.shown, (j.first*float64(j.firstCalls)+float64(j.laterThrottles))/float64(j.firstCalls+j.laterCalls))
	c.noise = max(c.noise, c.shown)
	c.x, c.slowStart = j.before, j.slowStart
	return true
}

// background is the share of calls throttled whatever the rate, when it
// is large enough to tell from the throttles of an overshot quota.
func (c *controller) background() float64 {
	if c.noise < minNoise {
		return 0
	}
	return c.noise
}

// fell reports whether a share of calls throttled measured over n2 calls
// is clearly (by two standard errors) below one measured over n1.
func fell(p1 float64, n1 int64, p2 float64, n2 int64) bool {
	p := (p1*float64(n1) + p2*float64(n2)) / float64(n1+n2)
	return p1-p2 > 2*math.Sqrt(max(p, 0.01)*(1-min(p, 0.99))*(1/float64(n1)+1/float64(n2)))
}

// margin is two standard errors of a share p measured over n calls: at a
// few calls a second the share is noisy, and noise is no reason to act.
func margin(p float64, n int64) float64 {
	return 2 * math.Sqrt(max(p, 0.01)*(1-min(p, 0.99))/float64(max(n, 1)))
}
