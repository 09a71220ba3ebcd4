package bedrocktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// call is one decoded request.
type call struct {
	modelID string
	stream  bool
	req     converseRequest
}

func (c *call) maxTokens() *int32 {
	if c.req.InferenceConfig == nil {
		return nil
	}
	return c.req.InferenceConfig.MaxTokens
}

func (c *call) stopSequences() []string {
	if c.req.InferenceConfig == nil {
		return nil
	}
	return c.req.InferenceConfig.StopSequences
}

// reservation is what the TPM and TPD quotas take at admission: every input token, cached or
// not, plus maxTokens (or the configured default).
func (c *call) reservation(inputTokens, defaultMax int64) int64 {
	if m := c.maxTokens(); m != nil {
		return inputTokens + int64(*m)
	}
	return inputTokens + defaultMax
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeCall reads and decodes the body. raw is a copy of the body when keepRaw is set.
func decodeCall(r *http.Request, modelID string, stream, keepRaw bool) (c call, raw []byte, err error) {
	c.modelID, c.stream = modelID, stream
	buf := bodyPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 { // do not pin the odd huge body
			buf.Reset()
			bodyPool.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(r.Body); err != nil && err != io.EOF {
		return c, nil, fmt.Errorf("reading the request body: %w", err)
	}
	if keepRaw {
		raw = bytes.Clone(buf.Bytes())
	}
	c, err = parseCall(modelID, stream, buf.Bytes())
	return c, raw, err
}

// parseCall decodes a Converse request body. On-demand calls and batch records (whose
// modelInput is a Converse body) both go through it, so both read a request alike.
func parseCall(modelID string, stream bool, body []byte) (call, error) {
	c := call{modelID: modelID, stream: stream}
	if err := json.Unmarshal(body, &c.req); err != nil {
		return c, fmt.Errorf("the request body is not valid JSON: %w", err)
	}
	return c, nil
}

// validate returns why the service would reject the request, or "". Each step is in the file
// that owns the feature; the first complaint wins.
func (c *call) validate(o *Options) string {
	for _, check := range []func(*Options) string{
		c.validateMessages, c.validateMedia, c.validateCachePoints, c.validateTools,
		c.validateGuardrail, c.validateConfigs, c.validateModelRules,
	} {
		if msg := check(o); msg != "" {
			return msg
		}
	}
	return ""
}

// validateMessages checks the conversation's shape, InvalidMarker and maxTokens.
func (c *call) validateMessages(*Options) string {
	req := &c.req
	if len(req.Messages) == 0 {
		return "A conversation must start with a user message: messages is empty. Try again with at least one message."
	}
	if req.Messages[0].Role != "user" {
		return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
	}
	for i, m := range req.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return fmt.Sprintf("messages.%d.role: %q is not a valid role; use \"user\" or \"assistant\".", i, m.Role)
		}
		if len(m.Content) == 0 {
			return fmt.Sprintf("messages.%d.content: a message must contain at least one content block.", i)
		}
		for _, b := range m.Content {
			if b.Text != nil && strings.Contains(*b.Text, InvalidMarker) {
				return fmt.Sprintf("messages.%d: the text contains the marker %s (bedrocktest).", i, InvalidMarker)
			}
		}
	}
	for i, b := range req.System {
		if b.Text != nil && strings.Contains(*b.Text, InvalidMarker) {
			return fmt.Sprintf("system.%d: the text contains the marker %s (bedrocktest).", i, InvalidMarker)
		}
	}
	if m := c.maxTokens(); m != nil && *m < 1 {
		return fmt.Sprintf("inferenceConfig.maxTokens: %d is less than the minimum of 1.", *m)
	}
	return ""
}

// validateConfigs checks the enums of performanceConfig and serviceTier.
func (c *call) validateConfigs(*Options) string {
	if p := c.req.PerformanceConfig; p != nil && p.Latency != "standard" && p.Latency != "optimized" {
		return enumError(p.Latency, "performanceConfig.latency", "standard, optimized")
	}
	if t := c.req.ServiceTier; t != nil {
		switch t.Type {
		case "default", "priority", "flex", "reserved":
		default:
			return enumError(t.Type, "serviceTier.type", "priority, default, flex, reserved")
		}
	}
	return ""
}

// enumError words an enum violation as AWS's request validation does.
func enumError(value, path, set string) string {
	return fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]", value, path, set)
}

// modelError prefixes what the model itself rejected, as Bedrock reports it.
func modelError(format string, args ...any) string {
	return "The model returned the following errors: " + fmt.Sprintf(format, args...)
}

// tier is the service tier the call is served on: the requested one, or "default".
func (c *call) tier() string {
	if t := c.req.ServiceTier; t != nil && t.Type != "" {
		return t.Type
	}
	return "default"
}

// latency is the requested performanceConfig.latency, or "".
func (c *call) latency() string {
	if p := c.req.PerformanceConfig; p != nil {
		return p.Latency
	}
	return ""
}

// prompt joins the text blocks of the last user message with "\n".
func (c *call) prompt() string {
	for i := len(c.req.Messages) - 1; i >= 0; i-- {
		m := &c.req.Messages[i]
		if m.Role != "user" {
			continue
		}
		var texts []string
		for _, b := range m.Content {
			if b.Text != nil {
				texts = append(texts, *b.Text)
			}
		}
		if len(texts) == 1 {
			return texts[0]
		}
		return strings.Join(texts, "\n")
	}
	return ""
}
