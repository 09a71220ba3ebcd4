package ratelimit

import (
	_ "embed"
	"encoding/json"
	"sync"

	"github.com/bedrock-batch/bedrock-batch/modelid"
)

// maxOutputJSON lists models' maximum output tokens: what Bedrock reserves
// at admission for a call that sends no maxTokens. Each row names its
// source and the date it was checked; the first row that matches wins; a
// model not listed is taken as unknownMaxOutput.
//
//go:embed maxoutput.json
var maxOutputJSON []byte

// unknownMaxOutput is DefaultMaxOutput for a model not in the table.
const unknownMaxOutput = 4096

// maxOutputRule is one row of maxoutput.json: the maximum output tokens of
// the models whose id matches Pattern, where that figure comes from
// (Source) and when it was last checked (AsOf, YYYY-MM-DD).
type maxOutputRule struct {
	Pattern   string `json:"pattern"`
	MaxOutput int64  `json:"max_output"`
	Note      string `json:"note,omitempty"`
	Source    string `json:"source"`
	AsOf      string `json:"as_of"`
}

var maxOutputTable = sync.OnceValue(func() []maxOutputRule {
	var rules []maxOutputRule
	if err := json.Unmarshal(maxOutputJSON, &rules); err != nil {
		panic("ratelimit: maxoutput.json: " + err.Error())
	}
	return rules
})

// DefaultMaxOutput is the model's maximum output tokens as shipped in
// maxoutput.json (for example 128,000 for Claude Opus 4.8 and the Claude 5
// family, 64,000 for Claude Haiku 4.5, 32,000 for Claude Opus 4.1), which
// Bedrock reserves for a call that sends no maxTokens; 4,096 for a model it
// does not know. Model ids match as for BurndownTable.Factor.
func DefaultMaxOutput(model string) int64 {
	for _, r := range maxOutputTable() {
		if modelid.Match(r.Pattern, model) {
			return r.MaxOutput
		}
	}
	return unknownMaxOutput
}

// MaxTokensCost is how many calls quota admits at once when each reserves
// maxTokens of output (plus nothing else): the number to warn with when a
// job sends no maxTokens and Bedrock reserves the model's maximum. It is 0
// when one such call exceeds the whole tokens-per-minute quota, and -1 when
// the quota has no tokens-per-minute limit or maxTokens is not positive.
func MaxTokensCost(quota Quota, maxTokens int64) (concurrency int64) {
	if quota.TokensPerMinute <= 0 || maxTokens <= 0 {
		return -1
	}
	return quota.TokensPerMinute / maxTokens
}
