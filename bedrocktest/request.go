package bedrocktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Wire shapes of a Converse request, decoded with only the fields the emulator reads.
type (
	converseRequest struct {
		Messages                     []wireMessage    `json:"messages"`
		System                       []wireBlock      `json:"system"`
		InferenceConfig              *inferenceConfig `json:"inferenceConfig"`
		AdditionalModelRequestFields json.RawMessage  `json:"additionalModelRequestFields"`
	}
	wireMessage struct {
		Role    string      `json:"role"`
		Content []wireBlock `json:"content"`
	}
	wireBlock struct {
		Text *string `json:"text"` // nil for other block types (image, document, cachePoint...)
	}
	inferenceConfig struct {
		MaxTokens     *int32   `json:"maxTokens"`
		Temperature   *float32 `json:"temperature"`
		TopP          *float32 `json:"topP"`
		StopSequences []string `json:"stopSequences"`
	}
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

// reservation is what the TPM quota takes at admission.
func (c *call) reservation(inputTokens int64) int64 {
	if m := c.maxTokens(); m != nil {
		return inputTokens + int64(*m)
	}
	return inputTokens + DefaultMaxTokens
}

// route splits a request path into the model id and the operation.
func route(r *http.Request) (modelID string, stream, ok bool) {
	if r.Method != http.MethodPost {
		return "", false, false
	}
	p, found := strings.CutPrefix(r.URL.EscapedPath(), "/model/")
	if !found {
		return "", false, false
	}
	if id, found := strings.CutSuffix(p, "/converse-stream"); found {
		p, stream = id, true
	} else if id, found := strings.CutSuffix(p, "/converse"); found {
		p = id
	} else {
		return "", false, false
	}
	id, err := url.PathUnescape(p)
	if err != nil || id == "" {
		return "", false, false
	}
	return id, stream, true
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
	if err := json.Unmarshal(buf.Bytes(), &c.req); err != nil {
		return c, raw, fmt.Errorf("the request body is not valid JSON: %w", err)
	}
	return c, raw, nil
}

// validate returns why the service would reject the request, or "".
func (c *call) validate() string {
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

// inputTokens counts the words of every system and message text.
func (c *call) inputTokens() int64 {
	var n int64
	for _, b := range c.req.System {
		if b.Text != nil {
			n += CountTokens(*b.Text)
		}
	}
	for _, m := range c.req.Messages {
		for _, b := range m.Content {
			if b.Text != nil {
				n += CountTokens(*b.Text)
			}
		}
	}
	return n
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

// observed builds what Options.Observe receives.
func (c *call) observed(raw []byte, decodeErr error) ObservedRequest {
	o := ObservedRequest{
		ModelID:                      c.modelID,
		Stream:                       c.stream,
		AdditionalModelRequestFields: c.req.AdditionalModelRequestFields,
		Raw:                          raw,
		DecodeError:                  decodeErr,
	}
	for _, b := range c.req.System {
		if b.Text != nil {
			o.System = append(o.System, *b.Text)
		}
	}
	for _, m := range c.req.Messages {
		om := ObservedMessage{Role: m.Role}
		for _, b := range m.Content {
			if b.Text != nil {
				om.Text = append(om.Text, *b.Text)
			}
		}
		o.Messages = append(o.Messages, om)
	}
	if ic := c.req.InferenceConfig; ic != nil {
		o.MaxTokens, o.Temperature, o.TopP, o.StopSequences = ic.MaxTokens, ic.Temperature, ic.TopP, ic.StopSequences
	}
	return o
}
