package bedrocktest

import (
	"math/rand/v2"
	"sync"
)

// fault is the failure injected into one call.
type fault uint8

const (
	faultNone fault = iota
	faultThrottle
	faultInternalError
	faultUnavailable
	faultReset
	faultHang
	faultMidStreamException
	faultStreamCut
)

type namedProb struct {
	name  string
	p     float64
	fault fault
}

// list returns the probabilities in the order the dice are rolled.
func (f Faults) list() [7]namedProb {
	return [7]namedProb{
		{"throttle", f.Throttle, faultThrottle},
		{"internal-error", f.InternalError, faultInternalError},
		{"unavailable", f.Unavailable, faultUnavailable},
		{"reset", f.Reset, faultReset},
		{"hang", f.Hang, faultHang},
		{"mid-stream-exception", f.MidStreamException, faultMidStreamException},
		{"stream-cut", f.StreamCut, faultStreamCut},
	}
}

// dice draws the faults of successive calls from one seeded source. Every call rolls all
// seven dice, whatever fires, so the sequence depends only on the number of calls.
type dice struct {
	probs [7]namedProb
	mu    sync.Mutex
	rng   *rand.Rand
}

// newDice returns nil when none of the seven faults can fire, so the hot path skips the lock.
func newDice(f Faults, seed int64) *dice {
	if f.list() == (Faults{}).list() {
		return nil
	}
	s := uint64(seed)
	return &dice{probs: f.list(), rng: rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))}
}

// roll returns the fault of the next call.
func (d *dice) roll() fault {
	if d == nil {
		return faultNone
	}
	var draws [7]float64
	d.mu.Lock()
	for i := range draws {
		draws[i] = d.rng.Float64()
	}
	d.mu.Unlock()
	for i, p := range d.probs {
		if draws[i] < p.p {
			return p.fault
		}
	}
	return faultNone
}

// coin is a seeded Bernoulli draw with its own source, for an answer-shaping fault (schema
// mismatch) that must not shift the sequence of the seven failure dice.
type coin struct {
	p   float64
	mu  sync.Mutex
	rng *rand.Rand
}

// newCoin returns nil when p is zero.
func newCoin(p float64, seed int64, salt uint64) *coin {
	if p <= 0 {
		return nil
	}
	s := uint64(seed) ^ salt
	return &coin{p: p, rng: rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))}
}

// flip reports whether the next draw comes up.
func (c *coin) flip() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.Float64() < c.p
}
