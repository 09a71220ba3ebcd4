package bedrocktest

import "encoding/json"

// ObservedRequest is what the server decoded from one request, for tests to check the fields
// a client actually sent.
type ObservedRequest struct {
	ModelID                      string // path-unescaped
	Stream                       bool   // ConverseStream rather than Converse
	System                       []string
	Messages                     []ObservedMessage
	MaxTokens                    *int32
	Temperature                  *float32
	TopP                         *float32
	StopSequences                []string
	AdditionalModelRequestFields json.RawMessage

	// CachePoints are the paths of the cachePoint blocks, in prefix order, as Bedrock names
	// fields in its errors: "system.1", "toolConfig.tools.2", "messages.0.content.3".
	CachePoints []string

	Tools          []ObservedTool // the toolSpecs of toolConfig.tools, in order
	ToolChoice     string         // "", "auto", "any" or "tool"
	ToolChoiceName string         // the tool named by toolChoice.tool

	GuardrailID      string // guardrailConfig.guardrailIdentifier
	GuardrailVersion string // guardrailConfig.guardrailVersion
	GuardrailTrace   string // guardrailConfig.trace

	Latency     string // performanceConfig.latency, "" when not sent
	ServiceTier string // serviceTier.type, "" when not sent

	Raw         []byte // the body as received (a copy the callee may keep)
	DecodeError error  // why Raw is not a valid request body, if it is not
}

// ObservedMessage is one decoded message: its role, the text of its text blocks, and its
// images and documents.
type ObservedMessage struct {
	Role      string
	Text      []string
	Images    []ObservedMedia
	Documents []ObservedMedia
}

// ObservedMedia is an image or a document block.
type ObservedMedia struct {
	Block  int    // index of the block in the message's content
	Format string // png, jpeg, ... or pdf, txt, ...
	Name   string // documents only
	Bytes  int    // length of source.bytes once base64-decoded (of source.text for a text document)
	S3URI  string // source.s3Location.uri
	// S3BucketOwner is source.s3Location.bucketOwner.
	S3BucketOwner string
}

// ObservedTool is one toolSpec.
type ObservedTool struct {
	Name        string
	Description string
	Schema      json.RawMessage // inputSchema.json as sent
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
		for j, b := range m.Content {
			switch {
			case b.Text != nil:
				om.Text = append(om.Text, *b.Text)
			case b.Image != nil:
				om.Images = append(om.Images, observedMedia(j, b.Image.Format, "", &b.Image.Source))
			case b.Document != nil:
				name := ""
				if b.Document.Name != nil {
					name = *b.Document.Name
				}
				om.Documents = append(om.Documents, observedMedia(j, b.Document.Format, name, &b.Document.Source))
			}
		}
		o.Messages = append(o.Messages, om)
	}
	if ic := c.req.InferenceConfig; ic != nil {
		o.MaxTokens, o.Temperature, o.TopP, o.StopSequences = ic.MaxTokens, ic.Temperature, ic.TopP, ic.StopSequences
	}
	c.eachCachePoint(func(path string, _ *cachePointBlock) { o.CachePoints = append(o.CachePoints, path) })
	for _, s := range c.toolSpecs() {
		o.Tools = append(o.Tools, ObservedTool{Name: s.Name, Description: s.Description, Schema: s.InputSchema.JSON})
	}
	if tc := c.req.ToolConfig; tc != nil && tc.ToolChoice != nil {
		switch ch := tc.ToolChoice; {
		case ch.Tool != nil:
			o.ToolChoice, o.ToolChoiceName = "tool", ch.Tool.Name
		case ch.Any != nil:
			o.ToolChoice = "any"
		case ch.Auto != nil:
			o.ToolChoice = "auto"
		}
	}
	if g := c.req.GuardrailConfig; g != nil {
		o.GuardrailID, o.GuardrailVersion, o.GuardrailTrace = g.GuardrailIdentifier, g.GuardrailVersion, g.Trace
	}
	o.Latency = c.latency()
	if t := c.req.ServiceTier; t != nil {
		o.ServiceTier = t.Type
	}
	return o
}

func observedMedia(block int, format, name string, src *mediaSource) ObservedMedia {
	m := ObservedMedia{Block: block, Format: format, Name: name, Bytes: len(src.Bytes)}
	if src.Text != nil {
		m.Bytes = len(*src.Text)
	}
	if s := src.S3Location; s != nil {
		m.S3URI, m.S3BucketOwner = s.URI, s.BucketOwner
	}
	return m
}
