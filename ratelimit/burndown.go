package ratelimit

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/bedrock-batch/bedrock-batch/modelid"
)

// burndownJSON is the built-in table: for some models each output token
// counts several times toward the tokens-per-minute and per-day quotas (AWS
// Bedrock user guide, "How tokens are counted"; quota only, billing is
// unaffected). Each row names its source and the date it was checked; the
// first row that matches wins, so specific patterns come before general
// ones.
//
//go:embed burndown.json
var burndownJSON []byte

// BurndownRule says that output tokens of the models whose id matches
// Pattern count Factor times toward the quota. A shipped rule says where
// the factor comes from (Source) and when that was last checked (AsOf,
// YYYY-MM-DD); a user's override has neither.
type BurndownRule struct {
	Pattern string  `json:"pattern"`
	Factor  float64 `json:"factor"`
	Note    string  `json:"note,omitempty"`
	Source  string  `json:"source,omitempty"`
	AsOf    string  `json:"as_of,omitempty"`
}

// BurndownTable maps a model id to its output-token burndown factor: the
// user's overrides first (the latest added first), then the built-in rules,
// then 1. The zero value is the built-in table.
type BurndownTable struct {
	overrides []BurndownRule // newest first
}

var defaultBurndown = sync.OnceValue(func() []BurndownRule {
	var rules []BurndownRule
	if err := json.Unmarshal(burndownJSON, &rules); err != nil {
		panic("ratelimit: burndown.json: " + err.Error())
	}
	return rules
})

// DefaultBurndown returns the built-in table (checked 2026-12-04: 15 for
// Claude Opus 4.8, 10 for the Claude 5 family and OpenAI GPT-5.6/GPT-6 on
// bedrock-runtime, 5 for the other Claude 4.x models, 1 for every other
// model).
func DefaultBurndown() BurndownTable { return BurndownTable{} }

// With returns the table with a user override (from --burndown
// PATTERN=N) that takes precedence over every rule already in it. pattern
// is a glob where * matches any run of characters; it is matched against
// the model id as given, and against the id stripped of an ARN and of an
// inference-profile prefix (us., eu., global., ...).
func (t BurndownTable) With(pattern string, factor float64) BurndownTable {
	rules := make([]BurndownRule, 0, len(t.overrides)+1)
	rules = append(rules, BurndownRule{Pattern: pattern, Factor: factor, Note: "override"})
	return BurndownTable{overrides: append(rules, t.overrides...)}
}

// Rules lists the rules in the order they are tried.
func (t BurndownTable) Rules() []BurndownRule {
	return append(append([]BurndownRule(nil), t.overrides...), defaultBurndown()...)
}

// Factor is how many quota tokens one output token of model counts for.
func (t BurndownTable) Factor(model string) float64 {
	for _, r := range t.overrides {
		if modelid.Match(r.Pattern, model) {
			return r.Factor
		}
	}
	for _, r := range defaultBurndown() {
		if modelid.Match(r.Pattern, model) {
			return r.Factor
		}
	}
	return 1
}

// String lists the rules as PATTERN=N, in the order they are tried.
func (t BurndownTable) String() string {
	var b strings.Builder
	for i, r := range t.Rules() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%g", r.Pattern, r.Factor)
	}
	return b.String()
}

// ParseBurndown parses a --burndown value, PATTERN=N, with N a positive
// number.
func ParseBurndown(s string) (pattern string, factor float64, err error) {
	i := strings.LastIndexByte(s, '=')
	if i < 0 {
		return "", 0, fmt.Errorf("burndown %q: want PATTERN=FACTOR", s)
	}
	pattern = strings.TrimSpace(s[:i])
	if pattern == "" {
		return "", 0, fmt.Errorf("burndown %q: empty model pattern", s)
	}
	factor, err = strconv.ParseFloat(strings.TrimSpace(s[i+1:]), 64)
	if err != nil || !(factor > 0) || math.IsInf(factor, 0) {
		return "", 0, fmt.Errorf("burndown %q: factor must be a positive number", s)
	}
	return pattern, factor, nil
}
