// Package modelid reads Bedrock model ids: a foundation model's own id
// ("anthropic.claude-sonnet-4-20250514-v1:0"), a cross-Region inference
// profile ("us.anthropic...", "global.anthropic..."), or an ARN ending in
// either. Every table keyed by model (burndown, maximum output, prices,
// model rules, quotas) matches ids the same way, through Match.
package modelid

import "strings"

// ID is a model id taken apart.
type ID struct {
	// Given is the id as given.
	Given string
	// Geography is the inference-profile prefix ("us", "eu", "apac",
	// "global", "us-gov", ...), "" for a foundation model's own id.
	Geography string
	// Model is the foundation model's id: the id without an ARN's
	// resource path and without the profile prefix.
	Model string
	// ARN says the id was given as an ARN.
	ARN bool
}

// providers are the first segments of foundation model ids; a first
// segment that is none of them, before a provider.model rest, is a
// geography.
var providers = map[string]bool{
	"anthropic": true, "amazon": true, "meta": true, "mistral": true, "cohere": true, "ai21": true,
	"deepseek": true, "writer": true, "openai": true, "qwen": true, "stability": true, "twelvelabs": true,
	"luma": true, "google": true, "minimax": true, "moonshot": true, "nvidia": true,
}

// Parse takes a model id apart. It never fails: an id it does not
// recognise is its own Model.
func Parse(s string) ID {
	id := ID{Given: s}
	rest := strings.TrimSpace(s)
	if strings.HasPrefix(rest, "arn:") {
		id.ARN = true
		if i := strings.LastIndexByte(rest, '/'); i >= 0 {
			rest = rest[i+1:]
		}
	}
	if first, model, ok := strings.Cut(rest, "."); ok && isGeography(first) && strings.Contains(model, ".") {
		id.Geography, rest = first, model
	}
	id.Model = rest
	return id
}

// Profile reports whether the id names a cross-Region inference profile,
// which has quotas of its own, apart from the model's in-Region ones.
func (id ID) Profile() bool { return id.Geography != "" }

// isGeography reports whether the first segment of an id is an
// inference-profile prefix: letters and hyphens, and not a provider.
func isGeography(s string) bool {
	if s == "" || providers[strings.ToLower(s)] {
		return false
	}
	for _, c := range strings.ToLower(s) {
		if (c < 'a' || c > 'z') && c != '-' {
			return false
		}
	}
	return true
}

// Forms are the forms of a model id a table pattern is tried against,
// lower-cased, most exact first: as given; an ARN cut down to the id after
// its last slash; and that id without its inference-profile prefix. A
// pattern of the bare id so covers every profile of the model, and a
// prefixed pattern can single one profile out.
func Forms(model string) []string {
	id := Parse(strings.ToLower(model))
	out := []string{strings.TrimSpace(id.Given)}
	if id.ARN {
		out = append(out, strings.TrimPrefix(id.Geography+"."+id.Model, "."))
	}
	if id.Geography != "" {
		out = append(out, id.Model)
	}
	return out
}

// Match reports whether a model id matches a table pattern: a glob where *
// is any run of characters, case-insensitive, against each of the id's
// Forms.
func Match(pattern, model string) bool {
	pattern = strings.ToLower(pattern)
	for _, form := range Forms(model) {
		if Glob(pattern, form) {
			return true
		}
	}
	return false
}

// Glob reports whether s matches pattern, where * matches any run of
// characters (none included) and every other character only itself.
func Glob(pattern, s string) bool {
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
