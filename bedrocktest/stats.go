package bedrocktest

import (
	"sync"
	"sync/atomic"
)

// Stats counts what the emulator has answered so far. It is a comparable value.
type Stats struct {
	Requests         int64 // Converse and ConverseStream calls, and requests for no operation (CountTokens and the batch control plane are counted apart)
	OK               int64 // calls answered successfully (for streams: complete streams)
	Throttled        int64 // 429s from the quotas or from the Throttle fault (a mid-stream throttlingException counts in Faults only)
	Faults           int64 // all injected failures, including injected throttles (not schema mismatches)
	Invalid          int64 // 400 ValidationExceptions
	Canceled         int64 // admitted calls the client gave up on (or Close ended) before the answer was written
	InputTokens      int64 // summed over OK calls only: what a correct client must report in total (usage.inputTokens: not cached)
	OutputTokens     int64 // summed over OK calls only
	CacheReadTokens  int64 // usage.cacheReadInputTokens summed over OK calls
	CacheWriteTokens int64 // usage.cacheWriteInputTokens summed over OK calls
	ToolUses         int64 // OK calls answered with a toolUse block
	SchemaMismatches int64 // of those, how many had an input that violates the schema on purpose (Faults.SchemaMismatch)
	Guardrailed      int64 // OK calls answered with stopReason guardrail_intervened
	Tiers            TierCounts
	CountTokens      int64 // CountTokens calls answered (not in Requests)
}

// TierCounts counts OK calls by the service tier they were served on (the one requested, or
// default).
type TierCounts struct {
	Default, Priority, Flex, Reserved int64
}

// ModelStats counts one model id's calls.
type ModelStats struct {
	Requests  int64 // routed calls naming this model, valid or not
	OK        int64
	Throttled int64 // 429s answered for this model, from its quotas or the Throttle fault; the sum over models is Stats.Throttled
	// QuotaTokensSettled sums what admitted calls settled to in quota tokens: inputTokens +
	// cacheWriteInputTokens + output tokens sent × burndown (every input token for a call that
	// ended before its answer), each call rounded to a whole token. It is what a client
	// limiter must count to track the TPM and TPD quotas.
	QuotaTokensSettled int64
}

// counters are the Handler's Stats as atomics.
type counters struct {
	requests, ok, throttled, faults, invalid, canceled atomic.Int64
	countCalls                                         atomic.Int64
	inputTokens, outputTokens                          atomic.Int64
	cacheRead, cacheWrite                              atomic.Int64
	toolUses, mismatches, guardrailed                  atomic.Int64
	tierDefault, tierPriority, tierFlex, tierReserved  atomic.Int64
}

// modelCounters are one model's ModelStats as atomics.
type modelCounters struct {
	requests, ok, throttled, quotaTokens atomic.Int64
}

// Stats returns the counters so far. It is safe for concurrent use.
func (h *Handler) Stats() Stats {
	c := &h.stats
	return Stats{
		Requests:         c.requests.Load(),
		OK:               c.ok.Load(),
		Throttled:        c.throttled.Load(),
		Faults:           c.faults.Load(),
		Invalid:          c.invalid.Load(),
		Canceled:         c.canceled.Load(),
		InputTokens:      c.inputTokens.Load(),
		OutputTokens:     c.outputTokens.Load(),
		CacheReadTokens:  c.cacheRead.Load(),
		CacheWriteTokens: c.cacheWrite.Load(),
		ToolUses:         c.toolUses.Load(),
		SchemaMismatches: c.mismatches.Load(),
		Guardrailed:      c.guardrailed.Load(),
		Tiers: TierCounts{
			Default:  c.tierDefault.Load(),
			Priority: c.tierPriority.Load(),
			Flex:     c.tierFlex.Load(),
			Reserved: c.tierReserved.Load(),
		},
		CountTokens: c.countCalls.Load(),
	}
}

// ModelStats returns the counters of every model id called so far. It is safe for
// concurrent use.
func (h *Handler) ModelStats() map[string]ModelStats {
	h.models.mu.RLock()
	defer h.models.mu.RUnlock()
	out := make(map[string]ModelStats, len(h.models.m))
	for id, mc := range h.models.m {
		out[id] = ModelStats{
			Requests:           mc.requests.Load(),
			OK:                 mc.ok.Load(),
			Throttled:          mc.throttled.Load(),
			QuotaTokensSettled: mc.quotaTokens.Load(),
		}
	}
	return out
}

// modelTable maps model ids to their counters. A read-locked map rather than a sync.Map:
// the hot path looks up a string key, which a sync.Map would box into an allocation.
type modelTable struct {
	mu sync.RWMutex
	m  map[string]*modelCounters
}

// modelCounters returns modelID's counters, made on first use.
func (h *Handler) modelCounters(modelID string) *modelCounters {
	t := &h.models
	t.mu.RLock()
	mc := t.m[modelID]
	t.mu.RUnlock()
	if mc != nil {
		return mc
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if mc = t.m[modelID]; mc == nil {
		if t.m == nil {
			t.m = map[string]*modelCounters{}
		}
		mc = new(modelCounters)
		t.m[modelID] = mc
	}
	return mc
}

func (h *Handler) succeeded(r reply, mc *modelCounters) {
	c := &h.stats
	c.ok.Add(1)
	mc.ok.Add(1)
	c.inputTokens.Add(r.inputTokens)
	c.outputTokens.Add(r.outputTokens)
	if r.cacheRead != 0 {
		c.cacheRead.Add(r.cacheRead)
	}
	if r.cacheWrite != 0 {
		c.cacheWrite.Add(r.cacheWrite)
	}
	if r.tool != nil {
		c.toolUses.Add(1)
		if r.tool.mismatch {
			c.mismatches.Add(1)
		}
	}
	if r.stopReason == stopGuardrail {
		c.guardrailed.Add(1)
	}
	switch r.tier {
	case "priority":
		c.tierPriority.Add(1)
	case "flex":
		c.tierFlex.Add(1)
	case "reserved":
		c.tierReserved.Add(1)
	default:
		c.tierDefault.Add(1)
	}
}
