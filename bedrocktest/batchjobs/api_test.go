package batchjobs_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	btypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
)

// Without a store the control plane still answers, and refuses jobs clearly.
func TestBatchWithoutStore(t *testing.T) {
	srv := newServer(t, bedrocktest.Options{})
	client, rt := newBedrockClient(srv.URL), newRuntimeClient(srv.URL)
	ctx := testCtx(t)

	in := &bedrock.CreateModelInvocationJobInput{
		JobName: aws.String("j"), ModelId: aws.String(testModel), RoleArn: aws.String("arn:aws:iam::123456789012:role/R"),
		ModelInvocationType: btypes.ModelInvocationTypeConverse,
		InputDataConfig: &btypes.ModelInvocationJobInputDataConfigMemberS3InputDataConfig{
			Value: btypes.ModelInvocationJobS3InputDataConfig{S3Uri: aws.String("s3://b/in.jsonl")}},
		OutputDataConfig: &btypes.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig{
			Value: btypes.ModelInvocationJobS3OutputDataConfig{S3Uri: aws.String("s3://b/out/")}},
	}
	_, err := client.CreateModelInvocationJob(ctx, in)
	checkAPIError(t, err, "ValidationException", "not enabled", "Options.BatchStore")

	for _, tt := range []struct{ ident, code string }{
		{"abcdefghijkl", "ResourceNotFoundException"},
		{"arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/abcdefghijkl", "ResourceNotFoundException"},
		{"not-a-job", "ValidationException"},
	} {
		_, err := client.GetModelInvocationJob(ctx, &bedrock.GetModelInvocationJobInput{JobIdentifier: aws.String(tt.ident)})
		checkAPIError(t, err, tt.code)
		_, err = client.StopModelInvocationJob(ctx, &bedrock.StopModelInvocationJobInput{JobIdentifier: aws.String(tt.ident)})
		checkAPIError(t, err, tt.code)
	}
	out, err := client.ListModelInvocationJobs(ctx, &bedrock.ListModelInvocationJobsInput{})
	if err != nil || len(out.InvocationJobSummaries) != 0 || out.NextToken != nil {
		t.Errorf("List = %+v, %v; want no jobs", out, err)
	}
	_, err = client.ListModelInvocationJobs(ctx, &bedrock.ListModelInvocationJobsInput{StatusEquals: "Running"})
	checkAPIError(t, err, "ValidationException", "statusEquals")

	// The runtime on the same URL is unaffected.
	if _, err := rt.Converse(ctx, converseInput("hello")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.URL+"/model-invocation-job/abcdefghijkl/start", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-Errortype") != "UnknownOperationException" {
		t.Errorf("unknown path: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
	if st := srv.BatchStats(); st.JobsRejected != 1 || st.JobsCreated != 0 {
		t.Errorf("BatchStats = %+v", st)
	}
}

func TestFailRecordsFraction(t *testing.T) {
	fail := batchjobs.FailRecordsFraction(0.1)
	n := 0
	for i := range 10000 {
		if code, msg, ok := fail(fmt.Sprintf("R%05d", i)); ok { // ids alike but for their last characters
			n++
			if code != 500 || msg == "" {
				t.Fatalf("code %d message %q", code, msg)
			}
		}
	}
	if n < 900 || n > 1100 {
		t.Errorf("%d of 10000 failed, want about 1000", n)
	}
	if _, _, ok := batchjobs.FailRecordsFraction(0)("x"); ok {
		t.Error("fraction 0 failed a record")
	}
}
