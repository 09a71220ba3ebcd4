package run

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/modelid"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
)

// modelRulesJSON is what is known about options models refuse, each row
// with its source and the date it was checked: checked before a run makes
// a single call. The first row that matches a model wins.
//
//go:embed modelrules.json
var modelRulesJSON []byte

// modelRule is one row of modelrules.json.
type modelRule struct {
	Pattern      string   `json:"pattern"`
	NeedsProfile bool     `json:"needs_profile,omitempty"` // no on-demand throughput for the base id
	OneOf        []string `json:"one_of,omitempty"`        // parameters the model takes only one of
	Rejects      []string `json:"rejects,omitempty"`       // parameters the model refuses when set at all
	Note         string   `json:"note,omitempty"`
	Source       string   `json:"source"` // the page the row's facts come from
	AsOf         string   `json:"as_of"`  // when they were last checked, YYYY-MM-DD
}

var modelRules = sync.OnceValue(func() []modelRule {
	var rules []modelRule
	if err := json.Unmarshal(modelRulesJSON, &rules); err != nil {
		panic("jobs: modelrules.json: " + err.Error())
	}
	return rules
})

// Preflight checks the job's options against what is known about each
// model before a call is made: a base model id that needs an inference
// profile, parameters the model takes only one of or refuses outright,
// maxTokens above its maximum output. It returns problems (the run would
// fail) and notes.
func Preflight(cfg *config.Config, models []string) (problems, notes []string) {
	for _, model := range models {
		rule, known := ruleFor(model)
		if !known {
			notes = append(notes, fmt.Sprintf("%s: not in the rules table; its options are not checked before the run", model))
			continue
		}
		if rule.NeedsProfile && !modelid.Parse(model).Profile() && !modelid.Parse(model).ARN {
			problems = append(problems, fmt.Sprintf("%s has no on-demand throughput under its base id: use an inference profile such as us.%s (or eu., apac., global.)", model, model))
		}
		if len(rule.OneOf) == 2 && cfg.Temperature != nil && cfg.TopP != nil {
			problems = append(problems, fmt.Sprintf("%s takes --temperature or --top-p, not both", model))
		}
		if set := rejectedSet(cfg, rule.Rejects); len(set) > 0 {
			problems = append(problems, fmt.Sprintf("%s refuses %s: leave it unset (the model samples as it chooses)", model, strings.Join(set, " and ")))
		}
		if most := ratelimit.DefaultMaxOutput(model); cfg.MaxTokens != nil && int64(*cfg.MaxTokens) > most {
			problems = append(problems, fmt.Sprintf("%s: --max-tokens %d is above the model's maximum output of %d", model, *cfg.MaxTokens, most))
		}
	}
	return problems, notes
}

// rejectedSet lists the options the job sets that the model refuses, as
// flags.
func rejectedSet(cfg *config.Config, rejects []string) []string {
	var set []string
	for _, param := range rejects {
		switch {
		case param == "temperature" && cfg.Temperature != nil:
			set = append(set, "--temperature")
		case param == "top_p" && cfg.TopP != nil:
			set = append(set, "--top-p")
		}
	}
	return set
}

func ruleFor(model string) (modelRule, bool) {
	for _, r := range modelRules() {
		if modelid.Match(r.Pattern, model) {
			return r, true
		}
	}
	return modelRule{}, false
}
