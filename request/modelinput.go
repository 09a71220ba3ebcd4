package request

import (
	"encoding/base64"
	"encoding/json"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
)

// ModelInput is a request in the shape Bedrock batch inference takes as a
// record's modelInput (Converse's request body without the model id): for
// the bedrock-batch output style, and for staging batch-inference jobs.
func ModelInput(req *bedrock.Request) (json.RawMessage, error) {
	type source struct {
		Bytes      string `json:"bytes,omitempty"`
		S3Location *struct {
			URI         string `json:"uri"`
			BucketOwner string `json:"bucketOwner,omitempty"`
		} `json:"s3Location,omitempty"`
	}
	type media struct {
		Format string `json:"format"`
		Name   string `json:"name,omitempty"`
		Source source `json:"source"`
	}
	type cachePoint struct {
		Type string `json:"type"`
	}
	type block struct {
		Text       *string     `json:"text,omitempty"`
		Image      *media      `json:"image,omitempty"`
		Document   *media      `json:"document,omitempty"`
		CachePoint *cachePoint `json:"cachePoint,omitempty"`
	}
	type message struct {
		Role    string  `json:"role"`
		Content []block `json:"content"`
	}
	type inference struct {
		MaxTokens     *int32   `json:"maxTokens,omitempty"`
		Temperature   *float32 `json:"temperature,omitempty"`
		TopP          *float32 `json:"topP,omitempty"`
		StopSequences []string `json:"stopSequences,omitempty"`
	}
	var in struct {
		Messages         []message       `json:"messages"`
		System           []block         `json:"system,omitempty"`
		InferenceConfig  *inference      `json:"inferenceConfig,omitempty"`
		AdditionalFields json.RawMessage `json:"additionalModelRequestFields,omitempty"`
	}
	toMedia := func(m *bedrock.Media) *media {
		if m == nil {
			return nil
		}
		out := &media{Format: m.Format, Name: m.Name}
		if m.S3URI != "" {
			out.Source.S3Location = &struct {
				URI         string `json:"uri"`
				BucketOwner string `json:"bucketOwner,omitempty"`
			}{m.S3URI, m.BucketOwner}
		} else {
			out.Source.Bytes = base64.StdEncoding.EncodeToString(m.Bytes)
		}
		return out
	}
	toBlock := func(b bedrock.Block) block {
		switch {
		case b.CachePoint:
			return block{CachePoint: &cachePoint{Type: "default"}}
		case b.Image != nil:
			return block{Image: toMedia(b.Image)}
		case b.Document != nil:
			return block{Document: toMedia(b.Document)}
		}
		text := b.Text
		return block{Text: &text}
	}
	if req.System != "" {
		in.System = []block{toBlock(bedrock.Block{Text: req.System})}
		if req.CacheSystem {
			in.System = append(in.System, toBlock(bedrock.Block{CachePoint: true}))
		}
	}
	in.Messages = make([]message, len(req.Messages))
	for i, m := range req.Messages {
		in.Messages[i] = message{Role: m.Role, Content: make([]block, len(m.Content))}
		for j, b := range m.Content {
			in.Messages[i].Content[j] = toBlock(b)
		}
	}
	if ic := req.Inference; ic.MaxTokens != nil || ic.Temperature != nil || ic.TopP != nil || len(ic.StopSequences) > 0 {
		in.InferenceConfig = &inference{MaxTokens: ic.MaxTokens, Temperature: ic.Temperature, TopP: ic.TopP, StopSequences: ic.StopSequences}
	}
	in.AdditionalFields = req.AdditionalFields
	return json.Marshal(in)
}
