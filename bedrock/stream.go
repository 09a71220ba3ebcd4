package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/schemas"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/transport/http/protocol/restjson1"
)

// streamDrainGrace is how long a stream whose messageStop and metadata have
// arrived may take to end. Waiting for the end lets the connection be
// reused; not waiting longer keeps a server that stalls after the last
// event from holding an answer that is already whole.
const streamDrainGrace = time.Second

// ownProtocol gives one ConverseStream call a protocol of its own. The SDK
// (bedrockruntime v1.63.11, smithy-go v1.28.8) shares one restJson1
// Protocol per client, and its event-stream codec writes its fields
// (payloadBuf, and the decoder on first use) on every message decoded, from
// every stream's reader goroutine: a data race between concurrent streams,
// reported by -race. The writes happen to store the same values, but a race
// is not something to rely on; a protocol per stream costs a few small
// allocations per call.
func ownProtocol(o *bedrockruntime.Options) {
	o.Protocol = restjson1.New(schemas.AmazonBedrockFrontendService)
}

// converseStream makes one ConverseStream call and assembles the same
// Response as Converse.
//
// A result is complete exactly when messageStop and metadata both arrived,
// and then it is returned as a success whatever the transport does after
// them (a reset, a closed connection, a cancelled context): Bedrock has
// answered and billed the call, and retrying it would bill it twice. Short
// of both, the call failed and is retried whole, partial text dropped: a
// mid-stream exception ends the stream early, and a connection cut looks
// like a clean end to the SDK.
func (c *Client) converseStream(ctx context.Context, req *Request, in *bedrockruntime.ConverseInput) (Response, error) {
	start := time.Now()
	out, err := c.runtime.ConverseStream(ctx, streamInput(in), ownProtocol)
	if err != nil {
		return Response{}, Classify(err)
	}
	stream := out.GetStream()
	defer stream.Close()

	a := assembly{start: start}
	events := stream.Events()
	var grace <-chan time.Time
	for events != nil {
		select {
		case event, ok := <-events:
			if !ok {
				events = nil
				break
			}
			a.add(event)
			if a.complete() && grace == nil {
				grace = time.After(streamDrainGrace)
			}
		case <-grace:
			events = nil
		}
	}
	return a.result(req, stream.Err())
}

// assembly collects a stream's events into a Response.
type assembly struct {
	start         time.Time
	resp          Response
	text          strings.Builder
	tools         []*toolCall // in the order their blocks started
	stopped, done bool        // messageStop, metadata
}

// toolCall is a toolUse content block: its input arrives as chunks of a
// JSON text, to be joined.
type toolCall struct {
	index int32
	name  string
	input strings.Builder
}

func (a *assembly) complete() bool { return a.stopped && a.done }

func (a *assembly) add(event types.ConverseStreamOutput) {
	switch e := event.(type) {
	case *types.ConverseStreamOutputMemberContentBlockStart:
		if start, ok := e.Value.Start.(*types.ContentBlockStartMemberToolUse); ok {
			tc := a.tool(aws.ToInt32(e.Value.ContentBlockIndex))
			tc.name = aws.ToString(start.Value.Name)
		}
	case *types.ConverseStreamOutputMemberContentBlockDelta:
		switch delta := e.Value.Delta.(type) {
		case *types.ContentBlockDeltaMemberText:
			a.firstToken()
			a.text.WriteString(delta.Value)
		case *types.ContentBlockDeltaMemberToolUse:
			a.firstToken()
			a.tool(aws.ToInt32(e.Value.ContentBlockIndex)).input.WriteString(aws.ToString(delta.Value.Input))
		}
	case *types.ConverseStreamOutputMemberMessageStop:
		a.resp.StopReason, a.stopped = string(e.Value.StopReason), true
	case *types.ConverseStreamOutputMemberMetadata:
		a.done = true
		if e.Value.Usage != nil {
			a.resp.Usage = usageOf(e.Value.Usage)
		}
		if e.Value.Metrics != nil {
			a.resp.LatencyMs = aws.ToInt64(e.Value.Metrics.LatencyMs)
		}
		a.resp.ServiceTier = tierOf(e.Value.ServiceTier)
	}
}

// firstToken records the time to the first content; at least 1 ms, so that
// a set value is never mistaken for "not streamed".
func (a *assembly) firstToken() {
	if a.resp.TimeToFirstTokenMs == 0 {
		a.resp.TimeToFirstTokenMs = max(time.Since(a.start).Milliseconds(), 1)
	}
}

// tool returns the tool call of content block index, starting one when its
// contentBlockStart was not seen.
func (a *assembly) tool(index int32) *toolCall {
	for _, tc := range a.tools {
		if tc.index == index {
			return tc
		}
	}
	tc := &toolCall{index: index}
	a.tools = append(a.tools, tc)
	return tc
}

// result is the call's outcome once the events ended, err being the
// stream's error, if any.
func (a *assembly) result(req *Request, err error) (Response, error) {
	if !a.complete() {
		if err != nil {
			return Response{}, Classify(err)
		}
		return Response{}, &Error{Class: Retryable, Type: TypeIncompleteReply,
			Message: "the response stream ended before messageStop and metadata (connection cut?); the call is retried whole"}
	}
	// Both closing events arrived: whatever err says happened after them.
	resp := a.resp
	resp.Text = a.text.String()
	if req.Tool != nil {
		input, err := a.toolInput(req.Tool.Name)
		if err != nil {
			return Response{}, err
		}
		resp.ToolInput = input
	}
	return resp, nil
}

// toolInput is the compacted JSON input of the first call of the tool
// named name (nil when the model did not call it). An input cut short by
// the output limit is no input (the stop reason, max_tokens, says why):
// retrying would cut it again. Any other input that is not JSON is a
// broken answer, retried.
func (a *assembly) toolInput(name string) (json.RawMessage, error) {
	for _, tc := range a.tools {
		if tc.name != name {
			continue
		}
		raw := strings.TrimSpace(tc.input.String())
		if raw == "" {
			return json.RawMessage(`{}`), nil // a tool with no parameters
		}
		var out bytes.Buffer
		if err := json.Compact(&out, []byte(raw)); err != nil {
			if a.resp.StopReason == string(types.StopReasonMaxTokens) {
				return nil, nil
			}
			return nil, &Error{Class: Retryable, Type: TypeInvalidToolInput,
				Message: "tool " + name + " input is not JSON: " + err.Error(), Err: err}
		}
		return out.Bytes(), nil
	}
	return nil, nil
}
