package ratelimit

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
)

// burndownJSON is the built-in table: for some models each output token
// counts several times toward the tokens-per-minute and per-day quotas (AWS
// Bedrock user guide, "How tokens are counted"; quota only, billing is
// unaffected). As of writing.
//
//go:embed burndown.json
var burndownJSON []byte

// BurndownRule says that output tokens of the models whose id matches
// Pattern count Factor times toward the quota.
type BurndownRule struct {
	Pattern string  `json:"pattern"`
	Factor  float64 `json:"factor"`
	Note    string  `json:"note,omitempty"`
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

// DefaultBurndown returns the built-in table (as of writing: 5 for Anthropic
// Claude 3.7 Sonnet and the Claude 4.x family, 1 for every other model).
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
	ids := candidates(model)
	for _, r := range t.overrides {
		if matchAny(r.Pattern, ids) {
			return r.Factor
		}
	}
	for _, r := range defaultBurndown() {
		if matchAny(r.Pattern, ids) {
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

// candidates are the forms of a model id that patterns are matched
// against, lower-cased: as given; an ARN cut down to the model or profile
// id after its last slash; and that id without an inference-profile prefix
// (any leading segment of letters and hyphens, "us." or "us-gov.", before a
// provider segment such as "anthropic.").
func candidates(model string) []string {
	id := strings.ToLower(strings.TrimSpace(model))
	out := []string{id}
	if strings.HasPrefix(id, "arn:") {
		if i := strings.LastIndexByte(id, '/'); i >= 0 {
			id = id[i+1:]
			out = append(out, id)
		}
	}
	if first, rest, ok := strings.Cut(id, "."); ok && lettersAndHyphens(first) && strings.Contains(rest, ".") {
		out = append(out, rest)
	}
	return out
}

func lettersAndHyphens(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && c != '-' {
			return false
		}
	}
	return true
}

func matchAny(pattern string, ids []string) bool {
	pattern = strings.ToLower(pattern)
	for _, id := range ids {
		if glob(pattern, id) {
			return true
		}
	}
	return false
}

// glob reports whether s matches pattern, where * matches any run of
// characters (none included) and every other character only itself.
func glob(pattern, s string) bool {
	star, mark := -1, 0 // last * seen in pattern, and where in s it began matching
	p, i := 0, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p, mark = star+1, mark+1
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// MatchModel reports whether a model id matches a pattern the way the
// burndown and max-output tables match: case-insensitively, * for any run
// of characters, against the id as given, the id cut out of an ARN, and
// the id without an inference-profile prefix (us., eu., global., ...).
func MatchModel(pattern, model string) bool { return matchAny(pattern, candidates(model)) }

// ModelIDs are the ids a model id is matched by, most exact first: as
// given (lower-cased), cut out of an ARN, and without an inference-profile
// prefix (us., eu., global., ...). Price and rule tables match the same way.
func ModelIDs(model string) []string { return candidates(model) }

// Glob reports whether s matches pattern, where * matches any run of
// characters and every other character only itself.
func Glob(pattern, s string) bool { return glob(pattern, s) }
