package bedrock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
)

func newClient(t *testing.T, opts bedrocktest.Options) (*bedrock.Client, *bedrocktest.Server) {
	t.Helper()
	srv := bedrocktest.NewServer(opts)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	return bedrock.New(cfg, bedrock.Options{Endpoint: srv.URL}), srv
}

func ptr[T any](v T) *T { return &v }

func TestConverse(t *testing.T) {
	tests := []struct {
		name           string
		req            bedrock.Request
		wantText       string
		wantStopReason string
		wantInput      int64
	}{
		{
			name:           "one prompt",
			req:            bedrock.Request{ModelID: "anthropic.claude-3-haiku-20240307-v1:0", Messages: []bedrock.Message{{Role: "user", Content: bedrock.TextBlocks("What is the capital of France")}}},
			wantText:       bedrocktest.Answer("What is the capital of France"),
			wantStopReason: "end_turn",
			wantInput:      6,
		},
		{
			name: "system and turns",
			req: bedrock.Request{ModelID: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0", System: "Be brief.",
				Messages: []bedrock.Message{
					{Role: "user", Content: bedrock.TextBlocks("Hi")},
					{Role: "assistant", Content: bedrock.TextBlocks("Hello there")},
					{Role: "user", Content: bedrock.TextBlocks("Tell me", "a joke")},
				}},
			wantText:       bedrocktest.Answer("Tell me\na joke"),
			wantStopReason: "end_turn",
			wantInput:      2 + 1 + 2 + 2 + 2,
		},
		{
			name: "max tokens",
			req: bedrock.Request{ModelID: "m", Inference: bedrock.InferenceConfig{MaxTokens: ptr[int32](3), Temperature: ptr[float32](0)},
				Messages: []bedrock.Message{{Role: "user", Content: bedrock.TextBlocks("Write a long story")}}},
			wantStopReason: "max_tokens",
			wantInput:      4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var observed bedrocktest.ObservedRequest
			client, _ := newClient(t, bedrocktest.Options{Observe: func(r bedrocktest.ObservedRequest) { observed = r }})
			resp, err := client.Converse(context.Background(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantText != "" && resp.Text != tt.wantText {
				t.Errorf("text %q, want %q", resp.Text, tt.wantText)
			}
			if resp.StopReason != tt.wantStopReason || resp.Usage.InputTokens != tt.wantInput {
				t.Errorf("stop %q input %d, want %q %d", resp.StopReason, resp.Usage.InputTokens, tt.wantStopReason, tt.wantInput)
			}
			if resp.Usage.TotalTokens != resp.Usage.InputTokens+resp.Usage.OutputTokens {
				t.Errorf("usage %+v does not add up", resp.Usage)
			}
			if observed.ModelID != tt.req.ModelID {
				t.Errorf("model id %q reached the server as %q", tt.req.ModelID, observed.ModelID)
			}
			if (tt.req.Inference.Temperature == nil) != (observed.Temperature == nil) {
				t.Errorf("temperature sent %v, set %v", observed.Temperature, tt.req.Inference.Temperature)
			}
			if tt.req.Inference.MaxTokens != nil && (observed.MaxTokens == nil || *observed.MaxTokens != *tt.req.Inference.MaxTokens) {
				t.Errorf("maxTokens sent %v", observed.MaxTokens)
			}
		})
	}
}

func TestConverseErrorsAreClassified(t *testing.T) {
	tests := []struct {
		name      string
		opts      bedrocktest.Options
		prompt    string
		timeout   time.Duration
		wantClass bedrock.Class
		wantType  string
	}{
		{"throttled", bedrocktest.Options{Faults: bedrocktest.Faults{Throttle: 1}}, "hi", time.Second, bedrock.Throttled, "ThrottlingException"},
		{"500", bedrocktest.Options{Faults: bedrocktest.Faults{InternalError: 1}}, "hi", time.Second, bedrock.Retryable, "InternalServerException"},
		{"503", bedrocktest.Options{Faults: bedrocktest.Faults{Unavailable: 1}}, "hi", time.Second, bedrock.Retryable, "ServiceUnavailableException"},
		{"reset", bedrocktest.Options{Faults: bedrocktest.Faults{Reset: 1}}, "hi", time.Second, bedrock.Retryable, bedrock.TypeConnectionError},
		{"hang", bedrocktest.Options{Faults: bedrocktest.Faults{Hang: 1}}, "hi", 100 * time.Millisecond, bedrock.Retryable, bedrock.TypeRequestTimeout},
		{"validation", bedrocktest.Options{}, "bad " + bedrocktest.InvalidMarker, time.Second, bedrock.BadRecord, "ValidationException"},
		{"unknown model", bedrocktest.Options{Models: []string{"other"}}, "hi", time.Second, bedrock.Fatal, "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, _ := newClient(t, tt.opts)
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			_, err := client.Converse(ctx, &bedrock.Request{ModelID: "m", Messages: []bedrock.Message{{Role: "user", Content: bedrock.TextBlocks(tt.prompt)}}})
			var callErr *bedrock.Error
			if !errors.As(err, &callErr) {
				t.Fatalf("error %v (%T) is not classified", err, err)
			}
			if callErr.Class != tt.wantClass || callErr.Type != tt.wantType {
				t.Errorf("got %v %q, want %v %q (%v)", callErr.Class, callErr.Type, tt.wantClass, tt.wantType, err)
			}
		})
	}
}

func TestCountTokens(t *testing.T) {
	client, srv := newClient(t, bedrocktest.Options{})
	req := &bedrock.Request{ModelID: "anthropic.claude-3-haiku-20240307-v1:0", System: "Be brief please",
		Messages: []bedrock.Message{{Role: "user", Content: bedrock.TextBlocks("How many tokens is this")}}}
	got, err := client.CountTokens(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got != 3+5 {
		t.Errorf("CountTokens = %d, want 8", got)
	}
	if s := srv.Stats(); s.CountTokens != 1 || s.Requests != 0 {
		t.Errorf("stats %+v: want one CountTokens call and no model call", s)
	}
}
