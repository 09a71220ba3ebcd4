package bedrock_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
)

func newStreamClient(t *testing.T, opts bedrocktest.Options) *bedrock.Client {
	t.Helper()
	srv := bedrocktest.NewServer(opts)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	return bedrock.New(cfg, bedrock.Options{Endpoint: srv.URL, Stream: true})
}

func TestConverseStream(t *testing.T) {
	const prompt = "Tell me a long story about rivers and the sea please"
	tests := []struct {
		name      string
		faults    bedrocktest.Faults
		wantClass bedrock.Class // 0: success
	}{
		{"whole stream", bedrocktest.Faults{}, 0},
		{"throttled mid-stream", bedrocktest.Faults{MidStreamException: 1}, bedrock.Throttled},
		{"connection cut mid-stream", bedrocktest.Faults{StreamCut: 1}, bedrock.Retryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newStreamClient(t, bedrocktest.Options{Faults: tt.faults})
			resp, err := client.Converse(context.Background(), &bedrock.Request{ModelID: "m",
				Messages: []bedrock.Message{{Role: "user", Content: bedrock.TextBlocks(prompt)}}})
			if tt.wantClass == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if resp.Text != bedrocktest.Answer(prompt) || resp.StopReason != "end_turn" || resp.TimeToFirstTokenMs <= 0 ||
					resp.Usage.InputTokens != bedrocktest.CountTokens(prompt) || resp.Usage.TotalTokens != resp.Usage.InputTokens+resp.Usage.OutputTokens {
					t.Errorf("response %+v", resp)
				}
				return
			}
			var callErr *bedrock.Error
			if !errors.As(err, &callErr) || callErr.Class != tt.wantClass {
				t.Fatalf("error %v, want class %v: partial text must fail the call, not become a result", err, tt.wantClass)
			}
			if resp.Text != "" {
				t.Errorf("partial text %q kept", resp.Text)
			}
		})
	}
}

func newStreamClientFor(srv *bedrocktest.Server) *bedrock.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	return bedrock.New(cfg, bedrock.Options{Endpoint: srv.URL, Stream: true})
}
