package bedrocktest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

const testModel = "anthropic.claude-3-haiku-20240307-v1:0"

// newServer starts an emulator closed at the end of the test, and a real SDK client for it.
func newServer(t testing.TB, opts Options) (*Server, *bedrockruntime.Client) {
	t.Helper()
	srv := NewServer(opts)
	t.Cleanup(srv.Close)
	return srv, newClient(srv.URL)
}

func newClient(url string) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		BaseEndpoint: aws.String(url),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:      aws.NopRetryer{},
	})
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
	err         error // stream.Err() after the events channel closed
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
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			if d, ok := v.Value.Delta.(*types.ContentBlockDeltaMemberText); ok {
				r.text += d.Value
				r.deltas++
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			r.stopReason = v.Value.StopReason
		case *types.ConverseStreamOutputMemberMetadata:
			r.gotMetadata = true
			r.usage = v.Value.Usage
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

func (o *observer) last(t testing.TB) ObservedRequest {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.seen) == 0 {
		t.Fatal("nothing observed")
	}
	return o.seen[len(o.seen)-1]
}

func checkStats(t testing.TB, srv *Server, want Stats) {
	t.Helper()
	if got := srv.Stats(); got != want {
		t.Errorf("Stats() = %+v\nwant       %+v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }
