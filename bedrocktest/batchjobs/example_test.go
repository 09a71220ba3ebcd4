package batchjobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	btypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
)

// shoutingRuntime answers a record with its first text in upper case: a Runtime of its own,
// for a Service outside bedrocktest.
type shoutingRuntime struct{}

func (shoutingRuntime) Serves(modelID string) bool { return modelID == "shouting-model" }

func (shoutingRuntime) AppendConverse(dst []byte, modelID string, modelInput []byte, latencyMs int64) ([]byte, batchjobs.Usage, error) {
	var in struct {
		Messages []struct{ Content []struct{ Text string } }
	}
	if err := json.Unmarshal(modelInput, &in); err != nil || len(in.Messages) == 0 || len(in.Messages[0].Content) == 0 {
		return dst, batchjobs.Usage{}, errors.New("messages.0.content.0.text is required")
	}
	type block struct {
		Text string `json:"text"`
	}
	var out struct {
		Output struct {
			Message struct {
				Role    string  `json:"role"`
				Content []block `json:"content"`
			} `json:"message"`
		} `json:"output"`
		StopReason string         `json:"stopReason"`
		Usage      map[string]int `json:"usage"`
	}
	out.Output.Message.Role = "assistant"
	out.Output.Message.Content = []block{{strings.ToUpper(in.Messages[0].Content[0].Text)}}
	out.StopReason = "end_turn"
	out.Usage = map[string]int{"inputTokens": 2, "outputTokens": 2, "totalTokens": 4}
	body, err := json.Marshal(out)
	if err != nil {
		return dst, batchjobs.Usage{}, err
	}
	return append(dst, body...), batchjobs.Usage{InputTokens: 2, OutputTokens: 2}, nil
}

// A Service on a mux of its own, with its own Runtime, driven by the real service/bedrock
// client.
func ExampleService() {
	ctx := context.Background()
	store := batchjobs.NewMemoryStore("bucket")
	var input bytes.Buffer
	for i := range 2 {
		fmt.Fprintf(&input, `{"recordId":"r%d","modelInput":{"messages":[{"role":"user","content":[{"text":"hello %d"}]}]}}`+"\n", i, i)
	}
	if err := store.Put(ctx, "bucket", "in/records.jsonl", input.Bytes()); err != nil {
		panic(err)
	}

	svc := batchjobs.New(batchjobs.Options{MinRecords: -1}, store, shoutingRuntime{})
	defer svc.Close()
	mux := http.NewServeMux()
	svc.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client := bedrock.New(bedrock.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	created, err := client.CreateModelInvocationJob(ctx, &bedrock.CreateModelInvocationJobInput{
		JobName:             aws.String("shout"),
		ModelId:             aws.String("shouting-model"),
		ModelInvocationType: btypes.ModelInvocationTypeConverse,
		RoleArn:             aws.String("arn:aws:iam::123456789012:role/BatchRole"),
		InputDataConfig: &btypes.ModelInvocationJobInputDataConfigMemberS3InputDataConfig{
			Value: btypes.ModelInvocationJobS3InputDataConfig{S3Uri: aws.String("s3://bucket/in/records.jsonl")}},
		OutputDataConfig: &btypes.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig{
			Value: btypes.ModelInvocationJobS3OutputDataConfig{S3Uri: aws.String("s3://bucket/out/")}},
	})
	if err != nil {
		panic(err)
	}
	// The zero Options move a job through every status at once.
	job, err := client.GetModelInvocationJob(ctx, &bedrock.GetModelInvocationJobInput{JobIdentifier: created.JobArn})
	if err != nil {
		panic(err)
	}
	fmt.Println(job.Status, aws.ToInt64(job.SuccessRecordCount), "records")

	id := aws.ToString(created.JobArn)[strings.LastIndexByte(aws.ToString(created.JobArn), '/')+1:]
	out, err := store.Get(ctx, "bucket", "out/"+id+"/records.jsonl.out")
	if err != nil {
		panic(err)
	}
	fmt.Print(string(out))
	// Output:
	// Completed 2 records
	// {"recordId":"r0","modelInput":{"messages":[{"role":"user","content":[{"text":"hello 0"}]}]},"modelOutput":{"output":{"message":{"role":"assistant","content":[{"text":"HELLO 0"}]}},"stopReason":"end_turn","usage":{"inputTokens":2,"outputTokens":2,"totalTokens":4}}}
	// {"recordId":"r1","modelInput":{"messages":[{"role":"user","content":[{"text":"hello 1"}]}]},"modelOutput":{"output":{"message":{"role":"assistant","content":[{"text":"HELLO 1"}]}},"stopReason":"end_turn","usage":{"inputTokens":2,"outputTokens":2,"totalTokens":4}}}
}
