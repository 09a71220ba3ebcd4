package pipeline

import (
	"math/rand/v2"
	"time"
)

// Retry is the policy for failed calls: exponential backoff with full
// jitter, capped.
type Retry struct {
	// MaxAttempts counts every call of one record, the first included.
	MaxAttempts int
	// AttemptTimeout bounds one call; Bedrock Runtime has no default read
	// timeout, so without it a stalled connection hangs forever.
	AttemptTimeout time.Duration
	// BaseDelay is the backoff before the second attempt; it doubles per
	// attempt up to MaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

// DefaultRetry rides out a throttling storm of several minutes: twenty
// attempts with up to 30 s between them (about three and a half minutes of
// backoff on average, more with the limiter slowing the run as well).
var DefaultRetry = Retry{MaxAttempts: 20, AttemptTimeout: 5 * time.Minute, BaseDelay: 250 * time.Millisecond, MaxDelay: 30 * time.Second}

func (r Retry) withDefaults() Retry {
	if r.MaxAttempts < 1 {
		r.MaxAttempts = DefaultRetry.MaxAttempts
	}
	if r.AttemptTimeout <= 0 {
		r.AttemptTimeout = DefaultRetry.AttemptTimeout
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = DefaultRetry.BaseDelay
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = DefaultRetry.MaxDelay
	}
	return r
}

// delay is the full-jitter backoff after the given failed attempt: uniform
// in [0, min(MaxDelay, BaseDelay·2^(attempt-1))), so retries of many workers
// spread out instead of arriving together.
func (r Retry) delay(attempt int) time.Duration {
	ceiling := r.BaseDelay << min(attempt-1, 30)
	if ceiling <= 0 || ceiling > r.MaxDelay {
		ceiling = r.MaxDelay
	}
	return rand.N(ceiling) + 1
}
