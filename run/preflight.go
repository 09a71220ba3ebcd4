package run

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/modelid"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
)

// modelRulesJSON is what is known, as of writing, about options models
// refuse: checked before a run makes a single call.
//
//go:embed modelrules.json
var modelRulesJSON []byte

type modelRule struct {
	Pattern      string   `json:"pattern"`
	NeedsProfile bool     `json:"needs_profile,omitempty"` // no on-demand throughput for the base id
	OneOf        []string `json:"one_of,omitempty"`        // parameters the model takes only one of
	Note         string   `json:"note,omitempty"`
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
// profile, parameters the model takes only one of, maxTokens above its
// maximum output. It returns problems (the run would fail) and notes.
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
		if most := ratelimit.DefaultMaxOutput(model); cfg.MaxTokens != nil && int64(*cfg.MaxTokens) > most {
			problems = append(problems, fmt.Sprintf("%s: --max-tokens %d is above the model's maximum output of %d", model, *cfg.MaxTokens, most))
		}
	}
	return problems, notes
}

func ruleFor(model string) (modelRule, bool) {
	for _, r := range modelRules() {
		if modelid.Match(r.Pattern, model) {
			return r, true
		}
	}
	return modelRule{}, false
}
