// Package bedrock is the Model the pipeline calls: it turns a Request into a
// Bedrock Runtime Converse call through the real SDK client, and classifies
// every failure once, here, where it enters the program.
package bedrock

// Request is one model call, independent of the SDK's types.
type Request struct {
	ModelID   string
	System    string
	Messages  []Message
	Inference InferenceConfig
}

// Message is one turn of a conversation.
type Message struct {
	Role string // "user" or "assistant"
	Text []string
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
	Text       string
	StopReason string
	Usage      Usage
	LatencyMs  int64 // Bedrock's own metrics.latencyMs
	// TimeToFirstTokenMs is, for a streamed call, how long the first text
	// took to arrive; 0 for Converse.
	TimeToFirstTokenMs int64
}
