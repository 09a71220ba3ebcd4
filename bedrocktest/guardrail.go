package bedrocktest

import (
	"fmt"
	"regexp"
	"strings"
)

// The patterns of GuardrailConfiguration in the Bedrock API reference.
var (
	guardrailIDPattern      = regexp.MustCompile(`^(([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))$`)
	guardrailVersionPattern = regexp.MustCompile(`^(([1-9][0-9]{0,7})|(DRAFT))$`)
)

// validateGuardrail checks a guardrailConfig against the API's patterns and the guardrails
// that exist. Bedrock answers an unknown guardrail 400 ValidationException (not 404), with
// these messages.
func (c *call) validateGuardrail(o *Options) string {
	g := c.req.GuardrailConfig
	if g == nil {
		return ""
	}
	if !guardrailIDPattern.MatchString(g.GuardrailIdentifier) {
		return patternError(g.GuardrailIdentifier, "guardrailConfig.guardrailIdentifier", guardrailIDPattern)
	}
	if !guardrailVersionPattern.MatchString(g.GuardrailVersion) {
		return patternError(g.GuardrailVersion, "guardrailConfig.guardrailVersion", guardrailVersionPattern)
	}
	switch g.Trace {
	case "", "enabled", "disabled", "enabled_full":
	default:
		return enumError(g.Trace, "guardrailConfig.trace", "enabled, disabled, enabled_full")
	}
	if len(o.Guardrails) == 0 {
		return ""
	}
	id := g.GuardrailIdentifier
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:] // an ARN names the same guardrail as its id
	}
	idKnown := false
	for _, known := range o.Guardrails {
		kid, version, hasVersion := strings.Cut(known, ":")
		if kid != id {
			continue
		}
		if !hasVersion || version == g.GuardrailVersion {
			return ""
		}
		idKnown = true
	}
	if idKnown {
		return "The guardrail identifier or version provided in the request does not exist."
	}
	return "The provided guardrail identifier is invalid."
}

func patternError(value, path string, re *regexp.Regexp) string {
	return fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", value, path, re)
}

// guardrailIntervenes reports whether the call's guardrail blocks its input: a guardrailConfig
// was sent and some system or message text contains GuardrailMarker.
func (c *call) guardrailIntervenes() bool {
	if c.req.GuardrailConfig == nil {
		return false
	}
	for _, b := range c.req.System {
		if b.Text != nil && strings.Contains(*b.Text, GuardrailMarker) {
			return true
		}
	}
	for _, m := range c.req.Messages {
		for _, b := range m.Content {
			if b.Text != nil && strings.Contains(*b.Text, GuardrailMarker) {
				return true
			}
		}
	}
	return false
}
