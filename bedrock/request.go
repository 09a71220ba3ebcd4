// Package bedrock is the Model the pipeline calls: it turns a Request into a
// Bedrock Runtime Converse call through the real SDK client, and classifies
// every failure once, here, where it enters the program.
package bedrock

import "encoding/json"

// Request is one model call, independent of the SDK's types.
type Request struct {
	ModelID  string
	System   string
	Messages []Message
	// CacheSystem places a cachePoint after the system prompt.
	CacheSystem bool
	Inference   InferenceConfig
	// AdditionalFields is sent as additionalModelRequestFields (a JSON
	// object) when not empty.
	AdditionalFields json.RawMessage
	// Tool, when set, is the one tool the model is forced to call
	// (toolChoice): structured output whose input schema is Tool.InputSchema.
	Tool *Tool
	// Guardrail, when set, is sent as guardrailConfig.
	Guardrail *Guardrail
	// ServiceTier is "default", "priority", "flex" or "reserved"; empty
	// sends none.
	ServiceTier string
	// Latency is "standard" or "optimized" (performanceConfig); empty sends
	// none.
	Latency string
}

// Message is one turn of a conversation.
type Message struct {
	Role    string // "user" or "assistant"
	Content []Block
}

// Block is one content block: exactly one of Text, Image, Document, or a
// CachePoint.
type Block struct {
	Text       string
	Image      *Media
	Document   *Media
	CachePoint bool
}

// TextBlocks returns one text block per string.
func TextBlocks(texts ...string) []Block {
	blocks := make([]Block, len(texts))
	for i, t := range texts {
		blocks[i].Text = t
	}
	return blocks
}

// Media is an image or a document: its bytes, or an S3 object Bedrock
// reads itself (S3URI, for models that support s3Location).
type Media struct {
	// Format is the Converse format name: png, jpeg, gif, webp for images;
	// pdf, csv, doc, docx, xls, xlsx, html, txt, md for documents.
	Format string
	// Name is a document's name (Bedrock requires one: letters, digits,
	// single spaces, hyphens, parentheses and brackets).
	Name        string
	Bytes       []byte
	S3URI       string
	BucketOwner string
}

// Tool is a tool the model must call; its input is the structured output.
type Tool struct {
	Name        string
	Description string
	InputSchema json.RawMessage // a JSON Schema object
}

// Guardrail is a guardrail to apply to the call.
type Guardrail struct {
	ID      string
	Version string
	Trace   bool // "enabled" trace
}

// InferenceConfig holds the inference parameters. A nil pointer is "not set"
// and is left out of the request; a set zero (temperature 0) is sent.
type InferenceConfig struct {
	MaxTokens     *int32
	Temperature   *float32
	TopP          *float32
	StopSequences []string
}

// Usage is the token usage Bedrock reports for one call.
type Usage struct {
	InputTokens           int64
	OutputTokens          int64
	TotalTokens           int64
	CacheReadInputTokens  int64
	CacheWriteInputTokens int64
}

// Response is the result of one successful call.
type Response struct {
	Text string
	// ToolInput is the input of the forced tool's call (the structured
	// output), when the Request had a Tool and the model called it: nil
	// when it did not, or when a stream's input was cut short by maxTokens
	// (StopReason says max_tokens). Numbers are exactly as the model wrote
	// them; from Converse the object keys come sorted (the SDK decodes the
	// input into a map), from a stream in the model's order.
	ToolInput  json.RawMessage
	StopReason string
	Usage      Usage
	LatencyMs  int64 // Bedrock's own metrics.latencyMs
	// TimeToFirstTokenMs is, for a streamed call, how long the first content
	// took to arrive; 0 for Converse.
	TimeToFirstTokenMs int64
	// ServiceTier is the tier that served the call, as Bedrock reports it.
	ServiceTier string
}
