package accountquota

import (
	_ "embed"
	"encoding/json"
	"strings"
	"sync"
)

// Kind is what a quota limits.
type Kind string

// The kinds of quota a run paces to or sizes its jobs by.
const (
	TokensPerMinute     Kind = "tokens_per_minute"
	RequestsPerMinute   Kind = "requests_per_minute"
	TokensPerDay        Kind = "tokens_per_day"
	AccountTokensPerDay Kind = "account_tokens_per_day" // every model together
	RecordsPerJob       Kind = "records_per_job"
	RecordsPerFile      Kind = "records_per_file"
	MinRecordsPerJob    Kind = "min_records_per_job"
	FileBytes           Kind = "file_bytes"
	JobBytes            Kind = "job_bytes"
	JobsPerModel        Kind = "jobs_per_model" // batch jobs submitted or in progress
)

// How a model is called decides which of its quotas bind: its own id in
// one Region, a geographic cross-Region inference profile ("us."), or a
// global one ("global."). A template's scope "any" binds every call.
const (
	scopeAny         = "any"
	scopeInRegion    = "in-region"
	scopeCrossRegion = "cross-region"
	scopeGlobal      = "global"
)

const modelPlaceholder = "{model}"

// template is one way Bedrock names a quota (names.json).
type template struct {
	Name              string  `json:"name"`
	Kind              Kind    `json:"kind"`
	Scope             string  `json:"scope"`
	CrossRegionFactor float64 `json:"cross_region_factor"`
	UnitBytes         float64 `json:"unit_bytes"`
	Source            string  `json:"source"`

	prefix, suffix string // lower-cased, around {model}; the whole name when there is none
	perModel       bool
}

//go:embed names.json
var namesJSON []byte

var templates = sync.OnceValue(func() []*template {
	var file struct {
		Templates []*template `json:"templates"`
	}
	if err := json.Unmarshal(namesJSON, &file); err != nil {
		panic("accountquota: names.json: " + err.Error())
	}
	for _, t := range file.Templates {
		name := strings.ToLower(t.Name)
		t.prefix, t.suffix, t.perModel = strings.Cut(name, modelPlaceholder)
		if t.CrossRegionFactor == 0 {
			t.CrossRegionFactor = 1
		}
		if t.UnitBytes == 0 {
			t.UnitBytes = 1
		}
	}
	return file.Templates
})

// match finds the template a quota name follows, and the model display name
// in it (normalized; "" for a quota of every model). Of the templates that
// fit, the one with the most fixed text wins, so "... for X (doubled for
// cross-region calls)" is not read as a model called "X (doubled ...)".
func match(quotaName string) (*template, string, bool) {
	name := normalize(quotaName)
	var best *template
	var model string
	for _, t := range templates() {
		fixed := len(t.prefix) + len(t.suffix)
		if best != nil && fixed <= len(best.prefix)+len(best.suffix) {
			continue
		}
		if !t.perModel {
			if name == t.prefix {
				best, model = t, ""
			}
			continue
		}
		if len(name) > fixed && strings.HasPrefix(name, t.prefix) && strings.HasSuffix(name, t.suffix) {
			best, model = t, strings.TrimSpace(name[len(t.prefix):len(name)-len(t.suffix)])
		}
	}
	return best, model, best != nil
}

// normalize lower-cases a name and collapses its runs of white space.
func normalize(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// appliesTo reports whether a quota of template t binds a model called in
// scope, and how many times its value counts there.
func (t *template) appliesTo(scope string) (bool, float64) {
	switch {
	case t.Scope == scopeAny:
		if scope != scopeInRegion {
			return true, t.CrossRegionFactor
		}
		return true, 1
	case t.Scope == scope:
		return true, 1
	}
	return false, 0
}
