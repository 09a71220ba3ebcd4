package bedrocktest

import (
	"sync"
	"time"
)

// promptCache remembers the prefixes calls have written, per model (the model id is part of
// each key), until their TTL runs out. A hit refreshes the TTL, as Bedrock's does.
type promptCache struct {
	ttl time.Duration
	min int64 // smallest cacheable prefix, in tokens (0: any prefix of one token or more)

	mu      sync.Mutex
	expiry  map[[16]byte]time.Time
	sweepAt time.Time // when to drop expired entries next, so the map stays bounded
}

func newPromptCache(o Options, now time.Time) *promptCache {
	return &promptCache{ttl: o.cacheTTL(), min: o.cacheMinTokens(), expiry: map[[16]byte]time.Time{}, sweepAt: now.Add(o.cacheTTL())}
}

// cacheSplit is how a call's input tokens divide.
type cacheSplit struct {
	input, read, write int64
	used               bool // the request had a cachePoint: usage reports the cache fields
}

// split divides a call's input at answer time and records the prefixes it writes. The tokens
// before the last cachePoint are cache tokens: read up to the longest prefix still cached,
// written from there to the last cachePoint (which, with every cachePoint after the hit,
// is cached from now on). A last prefix shorter than the minimum caches nothing.
func (pc *promptCache) split(now time.Time, in inputInfo) cacheSplit {
	s := cacheSplit{input: in.tokens, used: len(in.points) > 0}
	if len(in.points) == 0 {
		return s
	}
	last := in.points[len(in.points)-1]
	if last.tokens == 0 || last.tokens < pc.min {
		return s
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.sweepLocked(now)
	hit := -1
	for i := len(in.points) - 1; i >= 0; i-- {
		p := in.points[i]
		if exp, ok := pc.expiry[p.key]; ok && now.Before(exp) && p.tokens >= pc.min && p.tokens > 0 {
			hit = i
			break
		}
	}
	if hit >= 0 {
		s.read = in.points[hit].tokens
		pc.expiry[in.points[hit].key] = now.Add(pc.lifetime(in.points[hit]))
	}
	for _, p := range in.points[hit+1:] {
		if p.tokens > s.read && p.tokens >= pc.min {
			pc.expiry[p.key] = now.Add(pc.lifetime(p))
		}
	}
	s.write = last.tokens - s.read
	s.input = in.tokens - last.tokens
	return s
}

// lifetime is a prefix's TTL: ttl "1h" lives twelve times the 5-minute default.
func (pc *promptCache) lifetime(p prefixPoint) time.Duration {
	if p.long {
		return 12 * pc.ttl
	}
	return pc.ttl
}

func (pc *promptCache) sweepLocked(now time.Time) {
	if now.Before(pc.sweepAt) {
		return
	}
	for k, exp := range pc.expiry {
		if !now.Before(exp) {
			delete(pc.expiry, k)
		}
	}
	pc.sweepAt = now.Add(pc.ttl)
}
