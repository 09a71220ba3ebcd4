package bedrock

import (
	"bytes"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// converseInput maps every field of req onto the SDK's ConverseInput, after
// checking what Bedrock would reject: a record that cannot succeed fails
// here, as a BadRecord, without spending a call or a quota reservation.
func converseInput(req *Request) (*bedrockruntime.ConverseInput, error) {
	if err := validate(req); err != nil {
		return nil, err
	}
	in := &bedrockruntime.ConverseInput{
		ModelId:         aws.String(req.ModelID),
		System:          systemBlocks(req),
		Messages:        messages(req.Messages),
		InferenceConfig: inferenceConfig(req.Inference),
	}
	var err error
	if in.AdditionalModelRequestFields, err = additionalFields(req.AdditionalFields); err != nil {
		return nil, err
	}
	if in.ToolConfig, err = toolConfig(req.Tool); err != nil {
		return nil, err
	}
	if g := req.Guardrail; g != nil {
		in.GuardrailConfig = &types.GuardrailConfiguration{
			GuardrailIdentifier: aws.String(g.ID),
			GuardrailVersion:    aws.String(g.Version),
			Trace:               guardrailTrace(g.Trace),
		}
	}
	if req.Latency != "" {
		in.PerformanceConfig = &types.PerformanceConfiguration{Latency: types.PerformanceConfigLatency(req.Latency)}
	}
	if req.ServiceTier != "" {
		in.ServiceTier = &types.ServiceTier{Type: types.ServiceTierType(req.ServiceTier)}
	}
	return in, nil
}

// streamInput is the ConverseStream form of in: the same body, field for
// field, except that the guardrail has its own stream type. Listing every
// field here (rather than a few) is what keeps a streamed call from
// silently dropping an option.
func streamInput(in *bedrockruntime.ConverseInput) *bedrockruntime.ConverseStreamInput {
	out := &bedrockruntime.ConverseStreamInput{
		ModelId:                           in.ModelId,
		Messages:                          in.Messages,
		System:                            in.System,
		InferenceConfig:                   in.InferenceConfig,
		ToolConfig:                        in.ToolConfig,
		AdditionalModelRequestFields:      in.AdditionalModelRequestFields,
		AdditionalModelResponseFieldPaths: in.AdditionalModelResponseFieldPaths,
		OutputConfig:                      in.OutputConfig,
		PerformanceConfig:                 in.PerformanceConfig,
		PromptVariables:                   in.PromptVariables,
		RequestMetadata:                   in.RequestMetadata,
		ServiceTier:                       in.ServiceTier,
	}
	if g := in.GuardrailConfig; g != nil {
		// StreamProcessingMode is left unset: Bedrock's default (sync)
		// checks the whole answer before it is streamed, as Converse does.
		out.GuardrailConfig = &types.GuardrailStreamConfiguration{
			GuardrailIdentifier: g.GuardrailIdentifier,
			GuardrailVersion:    g.GuardrailVersion,
			Trace:               g.Trace,
		}
	}
	return out
}

// countTokensInput is the part of in that CountTokens accepts: messages,
// system, toolConfig and additionalModelRequestFields, which all count
// toward the input tokens. Inference, guardrail, tier and latency settings
// do not change the input and are not accepted.
func countTokensInput(in *bedrockruntime.ConverseInput) *bedrockruntime.CountTokensInput {
	return &bedrockruntime.CountTokensInput{
		ModelId: in.ModelId,
		Input: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{
			Messages:                     in.Messages,
			System:                       in.System,
			ToolConfig:                   in.ToolConfig,
			AdditionalModelRequestFields: in.AdditionalModelRequestFields,
		}},
	}
}

func systemBlocks(req *Request) []types.SystemContentBlock {
	if req.System == "" {
		return nil
	}
	blocks := []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: req.System}}
	if req.CacheSystem {
		// The cache point goes after the text: it caches everything before it.
		blocks = append(blocks, &types.SystemContentBlockMemberCachePoint{Value: cachePoint()})
	}
	return blocks
}

func messages(ms []Message) []types.Message {
	out := make([]types.Message, 0, len(ms))
	for _, m := range ms {
		content := make([]types.ContentBlock, 0, len(m.Content))
		for _, b := range m.Content {
			content = append(content, contentBlock(b))
		}
		out = append(out, types.Message{Role: types.ConversationRole(m.Role), Content: content})
	}
	return out
}

// contentBlock maps one Block; validate has made sure it holds exactly one
// kind of content.
func contentBlock(b Block) types.ContentBlock {
	switch {
	case b.Image != nil:
		return &types.ContentBlockMemberImage{Value: types.ImageBlock{
			Format: types.ImageFormat(b.Image.Format),
			Source: imageSource(b.Image),
		}}
	case b.Document != nil:
		return &types.ContentBlockMemberDocument{Value: types.DocumentBlock{
			Format: types.DocumentFormat(b.Document.Format),
			Name:   aws.String(b.Document.Name),
			Source: documentSource(b.Document),
		}}
	case b.CachePoint:
		return &types.ContentBlockMemberCachePoint{Value: cachePoint()}
	}
	return &types.ContentBlockMemberText{Value: b.Text}
}

func imageSource(m *Media) types.ImageSource {
	if m.S3URI != "" {
		return &types.ImageSourceMemberS3Location{Value: s3Location(m)}
	}
	return &types.ImageSourceMemberBytes{Value: m.Bytes}
}

func documentSource(m *Media) types.DocumentSource {
	if m.S3URI != "" {
		return &types.DocumentSourceMemberS3Location{Value: s3Location(m)}
	}
	return &types.DocumentSourceMemberBytes{Value: m.Bytes}
}

func s3Location(m *Media) types.S3Location {
	loc := types.S3Location{Uri: aws.String(m.S3URI)}
	if m.BucketOwner != "" {
		loc.BucketOwner = aws.String(m.BucketOwner)
	}
	return loc
}

func cachePoint() types.CachePointBlock {
	return types.CachePointBlock{Type: types.CachePointTypeDefault}
}

// inferenceConfig is nil when nothing is set, so Bedrock's defaults apply;
// a field that is set is sent even when it is zero (temperature 0).
func inferenceConfig(ic InferenceConfig) *types.InferenceConfiguration {
	if ic.MaxTokens == nil && ic.Temperature == nil && ic.TopP == nil && len(ic.StopSequences) == 0 {
		return nil
	}
	return &types.InferenceConfiguration{
		MaxTokens:     ic.MaxTokens,
		Temperature:   ic.Temperature,
		TopP:          ic.TopP,
		StopSequences: ic.StopSequences,
	}
}

func additionalFields(raw []byte) (document.Interface, error) {
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || string(raw) == "null" {
		return nil, nil // a null from a job file means "none", not an error
	}
	doc, err := jsonDocument(raw, true)
	if err != nil {
		return nil, invalidRequest("additional model request fields: %v", err)
	}
	return doc, nil
}

// toolConfig forces the model to call t (toolChoice names it): its input
// is the structured output.
func toolConfig(t *Tool) (*types.ToolConfiguration, error) {
	if t == nil {
		return nil, nil
	}
	if len(bytes.TrimSpace(t.InputSchema)) == 0 {
		return nil, invalidRequest("tool %q has no input schema (a JSON Schema object)", t.Name)
	}
	schema, err := jsonDocument(t.InputSchema, true)
	if err != nil {
		return nil, invalidRequest("tool %q input schema: %v", t.Name, err)
	}
	spec := types.ToolSpecification{Name: aws.String(t.Name), InputSchema: &types.ToolInputSchemaMemberJson{Value: schema}}
	if t.Description != "" {
		spec.Description = aws.String(t.Description)
	}
	return &types.ToolConfiguration{
		Tools:      []types.Tool{&types.ToolMemberToolSpec{Value: spec}},
		ToolChoice: &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(t.Name)}},
	}, nil
}

func guardrailTrace(on bool) types.GuardrailTrace {
	if on {
		return types.GuardrailTraceEnabled
	}
	return types.GuardrailTraceDisabled
}
