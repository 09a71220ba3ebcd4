package bedrock

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// Options configure a Client beyond what aws.Config carries.
type Options struct {
	// Endpoint overrides the Bedrock Runtime endpoint (an emulator, a VPC
	// endpoint). Empty keeps the SDK's resolution, which already honours
	// AWS_ENDPOINT_URL_BEDROCK_RUNTIME.
	Endpoint string
	// MaxConns is how many connections to keep open to Bedrock; set it to
	// the run's concurrency, or every call above the default pays for a new
	// connection.
	MaxConns int
	// Stream makes every call a ConverseStream call, assembled into the same
	// Response (for long outputs, and models whose streaming quotas differ).
	Stream bool
}

// Client is the Model the pipeline calls: one Converse call per Request,
// made once (no SDK retries: the pipeline owns retries and pacing).
type Client struct {
	runtime *bedrockruntime.Client
	stream  bool
}

// New returns a Client over the real bedrockruntime SDK client.
func New(cfg aws.Config, opts Options) *Client {
	return &Client{runtime: NewRuntimeClient(cfg, opts), stream: opts.Stream}
}

// NewRuntimeClient returns the SDK client a Client uses: no SDK retries,
// enough idle connections for the run's concurrency, the endpoint override.
func NewRuntimeClient(cfg aws.Config, opts Options) *bedrockruntime.Client {
	conns := max(opts.MaxConns, 16)
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = conns * 2
		t.MaxIdleConnsPerHost = conns * 2
		t.MaxConnsPerHost = 0
	})
	return bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		o.Retryer = aws.NopRetryer{}
		o.HTTPClient = httpClient
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})
}

// Converse makes one Converse call (ConverseStream when the Client
// streams). Every error it returns is an *Error.
func (c *Client) Converse(ctx context.Context, req *Request) (Response, error) {
	if c.stream {
		return c.converseStream(ctx, req)
	}
	out, err := c.runtime.Converse(ctx, converseInput(req))
	if err != nil {
		return Response{}, Classify(err)
	}
	resp := Response{StopReason: string(out.StopReason)}
	if msg, ok := out.Output.(*types.ConverseOutputMemberMessage); ok {
		resp.Text = joinText(msg.Value.Content)
	}
	if out.Usage != nil {
		resp.Usage = usageOf(out.Usage)
	}
	if out.Metrics != nil && out.Metrics.LatencyMs != nil {
		resp.LatencyMs = *out.Metrics.LatencyMs
	}
	return resp, nil
}

func converseInput(req *Request) *bedrockruntime.ConverseInput {
	in := &bedrockruntime.ConverseInput{
		ModelId:  aws.String(req.ModelID),
		Messages: make([]types.Message, 0, len(req.Messages)),
	}
	if req.System != "" {
		in.System = []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: req.System}}
	}
	for _, m := range req.Messages {
		content := make([]types.ContentBlock, 0, len(m.Content))
		for _, b := range m.Content {
			content = append(content, &types.ContentBlockMemberText{Value: b.Text})
		}
		in.Messages = append(in.Messages, types.Message{Role: types.ConversationRole(m.Role), Content: content})
	}
	if ic := req.Inference; ic.MaxTokens != nil || ic.Temperature != nil || ic.TopP != nil || len(ic.StopSequences) > 0 {
		in.InferenceConfig = &types.InferenceConfiguration{
			MaxTokens:     ic.MaxTokens,
			Temperature:   ic.Temperature,
			TopP:          ic.TopP,
			StopSequences: ic.StopSequences,
		}
	}
	return in
}

func joinText(blocks []types.ContentBlock) string {
	var texts []string
	for _, b := range blocks {
		if t, ok := b.(*types.ContentBlockMemberText); ok {
			texts = append(texts, t.Value)
		}
	}
	if len(texts) == 1 {
		return texts[0]
	}
	return strings.Join(texts, "")
}

func usageOf(u *types.TokenUsage) Usage {
	return Usage{
		InputTokens:           int64(aws.ToInt32(u.InputTokens)),
		OutputTokens:          int64(aws.ToInt32(u.OutputTokens)),
		TotalTokens:           int64(aws.ToInt32(u.TotalTokens)),
		CacheReadInputTokens:  int64(aws.ToInt32(u.CacheReadInputTokens)),
		CacheWriteInputTokens: int64(aws.ToInt32(u.CacheWriteInputTokens)),
	}
}

// CountTokens asks Bedrock how many input tokens req has, exactly, without
// running the model (free; Claude models and the emulator support it).
func (c *Client) CountTokens(ctx context.Context, req *Request) (int64, error) {
	in := converseInput(req)
	out, err := c.runtime.CountTokens(ctx, &bedrockruntime.CountTokensInput{
		ModelId: in.ModelId,
		Input:   &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: in.Messages, System: in.System}},
	})
	if err != nil {
		return 0, Classify(err)
	}
	return int64(aws.ToInt32(out.InputTokens)), nil
}
