package bedrocktest

import "encoding/json"

// Wire shapes of a Converse request, decoded with only the fields the emulator reads. The
// names are those of the SDK's schemas (service/bedrockruntime/schemas): a blob such as
// source.bytes is base64 in JSON, which encoding/json decodes into a []byte.
type (
	converseRequest struct {
		Messages                     []wireMessage      `json:"messages"`
		System                       []wireBlock        `json:"system"`
		InferenceConfig              *inferenceConfig   `json:"inferenceConfig"`
		ToolConfig                   *toolConfig        `json:"toolConfig"`
		GuardrailConfig              *guardrailConfig   `json:"guardrailConfig"`
		PerformanceConfig            *performanceConfig `json:"performanceConfig"`
		ServiceTier                  *serviceTier       `json:"serviceTier"`
		AdditionalModelRequestFields json.RawMessage    `json:"additionalModelRequestFields"`
	}
	wireMessage struct {
		Role    string      `json:"role"`
		Content []wireBlock `json:"content"`
	}
	// wireBlock is a content block (or a system block: text or cachePoint). Exactly one
	// member is set on a valid block; all are nil for types the emulator ignores.
	wireBlock struct {
		Text       *string          `json:"text"`
		Image      *imageBlock      `json:"image"`
		Document   *documentBlock   `json:"document"`
		CachePoint *cachePointBlock `json:"cachePoint"`
		ToolUse    *toolUseBlock    `json:"toolUse"`
		ToolResult *toolResultBlock `json:"toolResult"`
	}
	imageBlock struct {
		Format string      `json:"format"`
		Source mediaSource `json:"source"`
	}
	documentBlock struct {
		Format string      `json:"format"`
		Name   *string     `json:"name"`
		Source mediaSource `json:"source"`
	}
	// mediaSource is an ImageSource or a DocumentSource (text and content: documents only).
	mediaSource struct {
		Bytes      []byte      `json:"bytes"`
		S3Location *s3Location `json:"s3Location"`
		Text       *string     `json:"text"`
		Content    []struct {
			Text *string `json:"text"`
		} `json:"content"`
	}
	s3Location struct {
		URI         string `json:"uri"`
		BucketOwner string `json:"bucketOwner"`
	}
	cachePointBlock struct {
		Type string `json:"type"`
		TTL  string `json:"ttl"` // "5m" or "1h"; "" is 5m
	}
	toolUseBlock struct {
		ToolUseID string          `json:"toolUseId"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
	}
	toolResultBlock struct {
		ToolUseID string `json:"toolUseId"`
		Content   []struct {
			Text *string         `json:"text"`
			JSON json.RawMessage `json:"json"`
		} `json:"content"`
	}
	inferenceConfig struct {
		MaxTokens     *int32   `json:"maxTokens"`
		Temperature   *float32 `json:"temperature"`
		TopP          *float32 `json:"topP"`
		StopSequences []string `json:"stopSequences"`
	}
	toolConfig struct {
		Tools      []toolEntry `json:"tools"`
		ToolChoice *toolChoice `json:"toolChoice"`
	}
	// toolEntry is a Tool union: a toolSpec, or a cachePoint ending a cacheable prefix.
	toolEntry struct {
		ToolSpec   *toolSpec        `json:"toolSpec"`
		CachePoint *cachePointBlock `json:"cachePoint"`
	}
	toolSpec struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		InputSchema struct {
			JSON json.RawMessage `json:"json"`
		} `json:"inputSchema"`
	}
	// toolChoice is a union; the SDK sends {"auto":{}}, {"any":{}} or {"tool":{"name":...}}.
	toolChoice struct {
		Auto *struct{} `json:"auto"`
		Any  *struct{} `json:"any"`
		Tool *struct {
			Name string `json:"name"`
		} `json:"tool"`
	}
	guardrailConfig struct {
		GuardrailIdentifier string `json:"guardrailIdentifier"`
		GuardrailVersion    string `json:"guardrailVersion"`
		Trace               string `json:"trace"`
	}
	performanceConfig struct {
		Latency string `json:"latency"`
	}
	serviceTier struct {
		Type string `json:"type"`
	}
)
