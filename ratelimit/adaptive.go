package ratelimit

import (
	"math"
	"time"
)

// How the rate adapts. A known quota is used whole from the start (times
// Share); a throttle lowers it, and time spent with calls waiting for it
// climbs back, by increaseStep of the limit a second. With no quota known
// the rate is discovered in tokens per minute: it starts at
// startCallsPerSecond calls of the first call's size, doubles every
// slowStartDoubling while calls wait for it, within slowStartLead times
// what calls settle (slow start), comes down at the first throttle to
// slowStartExit of itself or to what calls have settled on average,
// whichever is less, and from then on climbs by increaseStep of the rate
// where throttling last began, each second calls wait for it (additive
// increase). A throttle lowers the rate by decreaseFactor only when the
// throttled call was admitted after the last decrease: calls admitted at
// the old rate belong to the same episode, and one episode is one
// decrease.
const (
	startCallsPerSecond = 4
	slowStartDoubling   = time.Second
	slowStartLead       = 2
	slowStartExit       = 0.5
	decreaseFactor      = 0.7
	increaseStep        = 0.05
	minFactor           = 0.02
	// A decrease is judged (judge.go) once judgeCalls admitted after it
	// have settled and judgeTime has passed, or judgeFewest by
	// judgeLongest for a slow run, or, with no throttle among them,
	// judgeQuiet by judgeLongest; a series of decreases stops at
	// seriesFloor of the rate where it began.
	judgeCalls   = 30
	judgeTime    = time.Second
	judgeFewest  = 20
	judgeLongest = 10 * time.Second
	judgeQuiet   = 5
	seriesFloor  = 0.25
	// Once a series undone has shown a background share of throttles, it
	// is followed over the calls admitted outside a judgement, about the
	// last noiseCalls of them, up to noiseAbove times what a series
	// showed (beyond, throttles a quota adds would pass for background
	// and call for more); below minNoise it is taken for the throttles of
	// quota episodes themselves, and every throttle counts.
	noiseCalls = 100
	noiseAbove = 1.5
	minNoise   = 0.02
	// With a background known, a decrease never goes below
	// settledFloorShare of the best rate calls settled at over two
	// seconds within the last half minute.
	settledFloorShare = 0.5
)

// controller moves the rate of one Limiter's buckets; it is guarded by the
// Limiter's mutex.
type controller struct {
	known     bool    // limits are given: x is the share of them in use
	ceiling   float64 // the largest x: Share of known limits, +Inf otherwise
	x         float64 // share of known limits, or discovered tokens per minute (0 before the first call)
	floor     float64 // the smallest x
	slowStart bool
	peak      float64 // discovered x where throttling last began
	epoch     uint64  // decreases so far
	lastGrow  time.Time
	judge     judgement
	noise     float64 // share of calls throttled whatever the rate
	shown     float64 // the largest background a series undone has shown
	window    callWindow
	delivered settledHistory // quota tokens settled lately
	tpm       float64        // the known tokens-per-minute limit x is a share of; 0 if none
}

func newController(limits Limits, now time.Time) controller {
	c := controller{known: limits.known(), lastGrow: now, ceiling: math.Inf(1)}
	if c.known {
		c.tpm = float64(limits.TokensPerMinute)
		c.ceiling = shareOf(limits)
		c.x = c.ceiling
		c.floor = minFactor * c.ceiling
	}
	return c
}

func shareOf(limits Limits) float64 {
	if limits.Share > 0 && limits.Share < 1 {
		return limits.Share
	}
	return 1
}

// begin starts discovering a quota from a careful rate sized on the first
// call: a few such calls a second.
func (c *controller) begin(tokens float64) {
	c.x = startCallsPerSecond * tokens * 60
	c.floor = tokens * 6 // one such call every ten seconds
	c.slowStart = true
}

// rates is what the token and request buckets refill at, per minute.
func (c *controller) rates(limits Limits) (tpm, rpm float64) {
	if !c.known {
		return c.x, 0
	}
	return float64(limits.TokensPerMinute) * c.x, float64(limits.RequestsPerMinute) * c.x
}

// grow raises the rate for the time since it last looked, when calls were
// waiting for the rate all along (a run held back by its concurrency or
// its input learns nothing about the quota); it reports a change.
func (c *controller) grow(now time.Time, blocked bool) bool {
	dt := now.Sub(c.lastGrow)
	if dt <= 0 {
		return false
	}
	c.lastGrow = now
	if !blocked || c.judge.active || c.x == 0 || c.x >= c.ceiling {
		return false
	}
	if c.slowStart {
		// Never more than slowStartLead times what calls settle: at
		// first nothing has, and the rate waits for the first answers.
		lead := max(c.x, slowStartLead*c.delivered.perMinute(now))
		c.x = min(c.x*math.Exp2(dt.Seconds()/slowStartDoubling.Seconds()), lead)
	} else {
		ref := c.ceiling
		if !c.known {
			ref = c.peak
			if c.background() > 0 {
				// Decreases the background set off, and judged to
				// have helped, lower the peak for nothing: climb by
				// what calls have lately settled at, if more.
				ref = max(ref, c.delivered.best(now))
			}
		}
		c.x += increaseStep * ref * dt.Seconds()
	}
	c.x = min(c.x, c.ceiling)
	return true
}

// succeeded counts a call settled at used quota tokens; it reports a
// change of rate.
func (c *controller) succeeded(now time.Time, epoch uint64, used float64) bool {
	c.delivered.add(now, used)
	if epoch == c.epoch {
		if c.judge.active {
			c.judge.calls++
		} else if c.noise > 0 {
			c.noise -= c.noise / noiseCalls
		}
	}
	return c.conclude(now)
}

// throttled counts a throttled call. resync says to trust Bedrock's
// refusal over the buckets' count; changed, that the rate moved.
func (c *controller) throttled(now time.Time, epoch uint64) (resync, changed bool) {
	c.window.throttle(now)
	if epoch != c.epoch {
		return true, false // admitted at the old rate: the same episode
	}
	if c.judge.active {
		c.judge.calls++
		c.judge.throttles++
		if c.judge.throttles >= 2 && 2*c.judge.throttles >= c.judge.calls {
			c.decrease(now) // still far too fast
			return true, true
		}
		return true, c.conclude(now)
	}
	if c.noise > 0 {
		c.noise = min(c.noise+(1-c.noise)/noiseCalls, noiseAbove*c.shown)
	}
	share, calls := c.window.throttledShare(now)
	if noise := c.background(); noise > 0 && share <= noise+1.5*margin(noise, calls) {
		return false, false // no more than the background: no episode
	}
	c.decrease(now)
	return true, true
}

// decrease slows down once for a new episode; a decrease while the last
// is being judged continues the same series.
func (c *controller) decrease(now time.Time) {
	j := &c.judge
	if !j.active {
		j.before, j.slowStart, j.f, j.first, j.laterCalls, j.laterThrottles = c.x, c.slowStart, 1, -1, 0, 0
	}
	f, exit := decreaseFactor, c.slowStart
	c.peak = c.x
	if c.slowStart {
		// Bedrock's bucket, and the quota left unused while slow start
		// began below it, let calls through above the quota for seconds
		// before the first throttle: the rate then is often several times
		// the quota, and what calls settled on average since is closer.
		c.slowStart = false
		f = slowStartExit
		if avg := c.delivered.average(now); avg > 0 && !c.known && c.noise == 0 && now.Sub(c.delivered.first) >= 2*time.Second {
			f = min(f, avg/c.x)
		}
	}
	if !exit {
		j.f *= f // the exit from slow start is an estimate, not a step of the series
	}
	c.x = max(c.x*f, c.floor, c.settledFloor(now))
	c.epoch++
	j.active, j.since, j.calls, j.throttles = true, now, 0, 0
}

// settledFloor is the lowest x a decrease goes to: half the best rate
// calls settled at lately. Below a quota that is still half of it (a
// quota shared with another job that starts may take longer to find),
// and throttling that does not come from the rate can never drive the run
// below half of what it was doing: it cannot starve it.
func (c *controller) settledFloor(now time.Time) float64 {
	if c.noise == 0 {
		return 0 // no background known: every throttle is a quota's
	}
	best := settledFloorShare * c.delivered.best(now)
	switch {
	case !c.known:
		return best
	case c.tpm > 0:
		return min(best/c.tpm, c.ceiling)
	}
	return 0
}
