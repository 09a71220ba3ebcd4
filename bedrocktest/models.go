package bedrocktest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
)

// baseModelID is batchjobs.BaseModelID: the model an id calls, without an ARN's path or an
// inference profile's geography.
func baseModelID(id string) string { return batchjobs.BaseModelID(id) }

// modelListed reports whether modelID, or its base model id, is in list.
func modelListed(list []string, modelID string) bool {
	return slices.Contains(list, modelID) || slices.Contains(list, baseModelID(modelID))
}

// ClaudeBurndown is an Options.Burndown for Bedrock's Anthropic models: 5 quota tokens per
// output token for Claude 3.7 Sonnet and the Claude 4 family (Sonnet 4, Opus 4, Opus 4.1,
// Sonnet 4.5, Haiku 4.5 and later 4.x), whatever the inference-profile prefix or ARN, and 1
// for every other model, per the AWS table "How tokens are counted".
func ClaudeBurndown(modelID string) float64 {
	rest, ok := strings.CutPrefix(baseModelID(modelID), "anthropic.claude-")
	if !ok {
		return 1
	}
	if strings.HasPrefix(rest, "3-7-") {
		return 5
	}
	for _, family := range []string{"sonnet-4", "opus-4", "haiku-4"} {
		if strings.HasPrefix(rest, family) {
			return 5
		}
	}
	return 1
}

// validateModelRules answers what no retry can fix for the model called: a base id that needs
// an inference profile, temperature and topP together, maxTokens above the model's limit.
func (c *call) validateModelRules(o *Options) string {
	if slices.Contains(o.NeedsInferenceProfile, c.modelID) {
		return fmt.Sprintf("Invocation of model ID %s with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model.", c.modelID)
	}
	if ic := c.req.InferenceConfig; ic != nil && ic.Temperature != nil && ic.TopP != nil && modelListed(o.TemperatureXorTopP, c.modelID) {
		return modelError("`temperature` and `top_p` cannot both be specified for this model. Please use only one.")
	}
	if m := c.maxTokens(); m != nil && len(o.MaxOutputTokens) > 0 {
		limit, ok := o.MaxOutputTokens[c.modelID]
		if !ok {
			limit, ok = o.MaxOutputTokens[baseModelID(c.modelID)]
		}
		if ok && *m > limit {
			return fmt.Sprintf("The maximum tokens you requested exceeds the model limit of %d. Try again with a maximum tokens value that is lower than %d.", limit, limit)
		}
	}
	return ""
}
