package ratelimit

// Rate is where the adaptive rate stands: the requests and tokens per
// minute the limiter admits (0 for a limit neither known nor discovered),
// the share of the known limits in use (1 when none is known), and the
// throttled calls so far.
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
	if now := l.clock.Now(); l.ctrl.grow(now, l.blocked) {
		l.apply(now)
	}
	tpm, rpm := l.ctrl.rates(l.limits)
	r := Rate{Factor: 1, Throttles: l.throttles}
	if l.ctrl.known {
		r.Factor = l.ctrl.x
	}
	if l.tokens != nil {
		r.TokensPerMinute = tpm
	}
	if l.requests != nil {
		r.RequestsPerMinute = rpm
	}
	return r
}

// SetShare changes the share of the limits this worker may use: a shard
// whose siblings have finished takes up their share. A larger share is
// climbed into by the usual increases, a smaller one applies at once. It
// does nothing to a quota being discovered, of which a share is unknown.
func (l *Limiter) SetShare(share float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limits.Share = share
	if !l.ctrl.known {
		return
	}
	l.ctrl.ceiling = shareOf(l.limits)
	l.ctrl.floor = minFactor * l.ctrl.ceiling
	now := l.clock.Now()
	if l.ctrl.x > l.ctrl.ceiling {
		l.ctrl.x = l.ctrl.ceiling
		l.apply(now)
	}
	l.dispatch(now)
}
