package bedrocktest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
)

const testModel = "anthropic.claude-3-haiku-20240307-v1:0"

// newServer starts an emulator closed at the end of the test, and a real SDK client for it.
func newServer(t testing.TB, opts Options) (*Server, *bedrockruntime.Client) {
	t.Helper()
	srv := NewServer(opts)
	t.Cleanup(srv.Close)
	return srv, newClient(srv.URL)
}

// newClient is the SDK client the tool itself uses (bedrock.NewRuntimeClient:
// no SDK retries, and request bodies the SDK cannot close under a response
// still being read, which otherwise fails a call now and then with "use of
// closed network connection").
func newClient(url string) *bedrockruntime.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	return bedrock.NewRuntimeClient(cfg, bedrock.Options{Endpoint: url})
}

// testCtx is a context that gives up well before the test binary would.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func userText(texts ...string) types.Message {
	m := types.Message{Role: types.ConversationRoleUser}
	for _, s := range texts {
		m.Content = append(m.Content, &types.ContentBlockMemberText{Value: s})
	}
	return m
}

func converseInput(prompt string) *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{ModelId: aws.String(testModel), Messages: []types.Message{userText(prompt)}}
}

func streamInput(prompt string) *bedrockruntime.ConverseStreamInput {
	return &bedrockruntime.ConverseStreamInput{ModelId: aws.String(testModel), Messages: []types.Message{userText(prompt)}}
}

// outputText joins the text blocks of a Converse output.
func outputText(t testing.TB, out *bedrockruntime.ConverseOutput) string {
	t.Helper()
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		t.Fatalf("output is %T, want a message", out.Output)
	}
	var s string
	for _, b := range msg.Value.Content {
		if tb, ok := b.(*types.ContentBlockMemberText); ok {
			s += tb.Value
		}
	}
	return s
}

// streamResult is what one ConverseStream call delivered.
type streamResult struct {
	text        string
	deltas      int
	started     bool
	stopReason  types.StopReason // "" without messageStop
	usage       *types.TokenUsage
	gotMetadata bool
	metadata    types.ConverseStreamMetadataEvent
	err         error // stream.Err() after the events channel closed

	toolUseID, toolName string // from contentBlockStart
	toolInput           string // the toolUse deltas joined
	toolDeltas          int
}

// readStream drains a stream the way a careful client does.
func readStream(t testing.TB, out *bedrockruntime.ConverseStreamOutput) streamResult {
	t.Helper()
	stream := out.GetStream()
	defer stream.Close()
	var r streamResult
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.ConverseStreamOutputMemberMessageStart:
			r.started = true
		case *types.ConverseStreamOutputMemberContentBlockStart:
			if s, ok := v.Value.Start.(*types.ContentBlockStartMemberToolUse); ok {
				r.toolUseID, r.toolName = aws.ToString(s.Value.ToolUseId), aws.ToString(s.Value.Name)
			}
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			switch d := v.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				r.text += d.Value
				r.deltas++
			case *types.ContentBlockDeltaMemberToolUse:
				r.toolInput += aws.ToString(d.Value.Input)
				r.toolDeltas++
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			r.stopReason = v.Value.StopReason
		case *types.ConverseStreamOutputMemberMetadata:
			r.gotMetadata = true
			r.usage = v.Value.Usage
			r.metadata = v.Value
		}
	}
	r.err = stream.Err()
	return r
}

// observer records what Options.Observe saw.
type observer struct {
	mu   sync.Mutex
	seen []ObservedRequest
}

func (o *observer) observe(r ObservedRequest) {
	o.mu.Lock()
	o.seen = append(o.seen, r)
	o.mu.Unlock()
}

// all returns a copy of what was observed so far.
func (o *observer) all() []ObservedRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]ObservedRequest(nil), o.seen...)
}

func (o *observer) last(t testing.TB) ObservedRequest {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.seen) == 0 {
		t.Fatal("nothing observed")
	}
	return o.seen[len(o.seen)-1]
}

// checkStats compares every counter. A want without Tiers means every OK call was served on
// the default tier, as calls that request none are.
func checkStats(t testing.TB, srv *Server, want Stats) {
	t.Helper()
	if want.Tiers == (TierCounts{}) {
		want.Tiers.Default = want.OK
	}
	if got := srv.Stats(); got != want {
		t.Errorf("Stats() = %+v\nwant       %+v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

// usageOf flattens a TokenUsage for comparisons; nil cache fields are -1, so "absent" and
// "zero" differ.
type usageNums struct{ in, out, total, read, write int32 }

func usageOf(u *types.TokenUsage) usageNums {
	if u == nil {
		return usageNums{-1, -1, -1, -1, -1}
	}
	orMinus := func(p *int32) int32 {
		if p == nil {
			return -1
		}
		return *p
	}
	return usageNums{orMinus(u.InputTokens), orMinus(u.OutputTokens), orMinus(u.TotalTokens), orMinus(u.CacheReadInputTokens), orMinus(u.CacheWriteInputTokens)}
}

// toolUseOf returns the single toolUse block of a Converse output, with its input decoded.
// The input must be a JSON object.
func toolUseOf(t testing.TB, out *bedrockruntime.ConverseOutput) (types.ToolUseBlock, map[string]any) {
	t.Helper()
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok || len(msg.Value.Content) != 1 {
		t.Fatalf("output %+v: want a message with one block", out.Output)
	}
	tu, ok := msg.Value.Content[0].(*types.ContentBlockMemberToolUse)
	if !ok {
		t.Fatalf("block is %T, want a toolUse", msg.Value.Content[0])
	}
	raw, err := tu.Value.Input.MarshalSmithyDocument()
	if err != nil {
		t.Fatalf("toolUse input: %v", err)
	}
	var input map[string]any // through JSON, so numbers are float64 as in a test's want
	if err := json.Unmarshal(raw, &input); err != nil {
		t.Fatalf("toolUse input %s: %v", raw, err)
	}
	return tu.Value, input
}

// expectAPIError checks that err is the named API error and its message contains want.
func expectAPIError(t testing.TB, err error, code, want string) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("err = %v (%T), want a %s", err, err, code)
	}
	if api.ErrorCode() != code || !strings.Contains(api.ErrorMessage(), want) {
		t.Errorf("got %s %q, want %s containing %q", api.ErrorCode(), api.ErrorMessage(), code, want)
	}
}
