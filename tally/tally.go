// Package tally counts result rows: records, ok and error rows, tokens, per
// model and per route. It is the one counting path for what a run wrote and
// what the output holds.
package tally

import "github.com/bedrock-batch/bedrock-batch/writer"

// Totals are counts and tokens over rows.
type Totals struct {
	Records int64  `json:"records"`
	OK      int64  `json:"ok"`
	Error   int64  `json:"error"`
	Tokens  Tokens `json:"tokens"`
	// Models breaks the rows down by the model they were sent to.
	Models map[string]*ModelTotals `json:"models,omitempty"`
	// ServiceTiers counts ok rows by the tier that served them.
	ServiceTiers map[string]int64 `json:"service_tiers,omitempty"`
	// GuardrailIntervened counts ok rows a guardrail stopped.
	GuardrailIntervened int64 `json:"guardrail_intervened,omitempty"`
	// Errors counts error rows by error_type.
	Errors map[string]*ErrorCount `json:"errors,omitempty"`
}

// ModelTotals are one model's rows and tokens.
type ModelTotals struct {
	Counts
	Tokens Tokens `json:"tokens"`
	// Batch are the rows and tokens of those rows a batch-inference job
	// answered (priced at the batch price).
	Batch *RouteTotals `json:"batch_inference,omitempty"`
	// CostUSD is the estimated on-demand cost of Tokens; nil when the
	// model's price is not known.
	CostUSD *float64 `json:"cost_usd,omitempty"`
}

// RouteTotals are the rows and tokens of one route.
type RouteTotals struct {
	Counts
	Tokens Tokens `json:"tokens"`
}

// Model returns the totals of one model, creating them.
func (t *Totals) Model(id string) *ModelTotals {
	if t.Models == nil {
		t.Models = make(map[string]*ModelTotals)
	}
	m := t.Models[id]
	if m == nil {
		m = &ModelTotals{}
		t.Models[id] = m
	}
	return m
}

// AddRow counts one row of a model into the totals.
func (t *Totals) AddRow(modelID, route string, ok bool, tokens Tokens, serviceTier, stopReason string) {
	m := t.Model(modelID)
	var batch *RouteTotals
	if route == writer.RouteBatchInference {
		if m.Batch == nil {
			m.Batch = &RouteTotals{}
		}
		batch = m.Batch
		batch.Records++
	}
	t.Records++
	m.Records++
	if !ok {
		t.Error++
		m.Error++
		if batch != nil {
			batch.Error++
		}
		return
	}
	t.OK++
	m.OK++
	t.Tokens = t.Tokens.Plus(tokens)
	m.Tokens = m.Tokens.Plus(tokens)
	if batch != nil {
		batch.OK++
		batch.Tokens = batch.Tokens.Plus(tokens)
	}
	if serviceTier != "" {
		if t.ServiceTiers == nil {
			t.ServiceTiers = make(map[string]int64)
		}
		t.ServiceTiers[serviceTier]++
	}
	if stopReason == "guardrail_intervened" {
		t.GuardrailIntervened++
	}
}

// Clone is a deep copy of t.
func (t Totals) Clone() Totals {
	c := t
	c.Models, c.ServiceTiers, c.Errors = nil, nil, nil
	c.Merge(Totals{Models: t.Models, ServiceTiers: t.ServiceTiers, Errors: t.Errors})
	return c
}

// Merge adds u's per-model, tier, guardrail and error counts to t's (not the
// top-level counts and tokens, which the caller sums as it needs).
func (t *Totals) Merge(u Totals) {
	for id, m := range u.Models {
		c := t.Model(id)
		c.Records += m.Records
		c.OK += m.OK
		c.Error += m.Error
		c.Tokens = c.Tokens.Plus(m.Tokens)
		if m.Batch != nil {
			if c.Batch == nil {
				c.Batch = &RouteTotals{}
			}
			c.Batch.Records += m.Batch.Records
			c.Batch.OK += m.Batch.OK
			c.Batch.Error += m.Batch.Error
			c.Batch.Tokens = c.Batch.Tokens.Plus(m.Batch.Tokens)
		}
	}
	for tier, n := range u.ServiceTiers {
		if t.ServiceTiers == nil {
			t.ServiceTiers = make(map[string]int64)
		}
		t.ServiceTiers[tier] += n
	}
	t.GuardrailIntervened += u.GuardrailIntervened
	t.mergeErrors(u)
}

// Minus is t less u.
func (t Tokens) Minus(u Tokens) Tokens {
	return Tokens{Input: t.Input - u.Input, Output: t.Output - u.Output, Total: t.Total - u.Total,
		CacheRead: t.CacheRead - u.CacheRead, CacheWrite: t.CacheWrite - u.CacheWrite}
}

// Plus is the sum of two token counts.
func (t Tokens) Plus(u Tokens) Tokens {
	return Tokens{Input: t.Input + u.Input, Output: t.Output + u.Output, Total: t.Total + u.Total,
		CacheRead: t.CacheRead + u.CacheRead, CacheWrite: t.CacheWrite + u.CacheWrite}
}

// Counts are the rows of a shard in the output.
type Counts struct {
	Records int64 `json:"records"`
	OK      int64 `json:"ok"`
	Error   int64 `json:"error"`
}

// Tokens are token totals over a run's ok rows, as Bedrock reported them.
type Tokens struct {
	Input      int64 `json:"input_tokens"`
	Output     int64 `json:"output_tokens"`
	Total      int64 `json:"total_tokens"`
	CacheRead  int64 `json:"cache_read_input_tokens"`
	CacheWrite int64 `json:"cache_write_input_tokens"`
}
