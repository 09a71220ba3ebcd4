package bedrock

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// converseStream makes one ConverseStream call and assembles the same
// Response as Converse. A result is complete only when messageStop and
// metadata both arrived: a connection cut mid-stream looks like a clean end
// to the SDK, and a mid-stream exception ends it early; either way the
// partial text is dropped and the call fails, to be retried whole.
func (c *Client) converseStream(ctx context.Context, req *Request) (Response, error) {
	in := converseInput(req)
	start := time.Now()
	out, err := c.runtime.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{
		ModelId: in.ModelId, Messages: in.Messages, System: in.System, InferenceConfig: in.InferenceConfig,
	})
	if err != nil {
		return Response{}, Classify(err)
	}
	stream := out.GetStream()
	defer stream.Close()

	var (
		resp          Response
		text          strings.Builder
		stopped, done bool
	)
	for event := range stream.Events() {
		switch e := event.(type) {
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			if delta, ok := e.Value.Delta.(*types.ContentBlockDeltaMemberText); ok {
				if resp.TimeToFirstTokenMs == 0 {
					resp.TimeToFirstTokenMs = max(time.Since(start).Milliseconds(), 1)
				}
				text.WriteString(delta.Value)
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			resp.StopReason, stopped = string(e.Value.StopReason), true
		case *types.ConverseStreamOutputMemberMetadata:
			done = true
			if e.Value.Usage != nil {
				resp.Usage = usageOf(e.Value.Usage)
			}
			if e.Value.Metrics != nil {
				resp.LatencyMs = aws.ToInt64(e.Value.Metrics.LatencyMs)
			}
		}
	}
	// Both closing events arrived: the answer is whole, and Bedrock billed
	// it, whatever the transport says after them.
	if err := stream.Err(); err != nil && (!stopped || !done) {
		return Response{}, Classify(err)
	}
	if !stopped || !done {
		return Response{}, &Error{Class: Retryable, Type: TypeIncompleteReply,
			Message: "the response stream ended before messageStop and metadata (connection cut?); the call is retried whole"}
	}
	resp.Text = text.String()
	return resp, nil
}
