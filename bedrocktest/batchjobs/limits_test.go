package batchjobs_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
)

// TestModelLimits: a model's own batch quotas (from the emulator's account) bind its jobs, by
// whatever id they name it, and leave other models' jobs alone.
func TestModelLimits(t *testing.T) {
	const other = "amazon.nova-lite-v1:0"
	e := newBatchEnv(t, bedrocktest.Options{Batch: batchjobs.Options{ValidateAfter: 1 << 40}, Account: &bedrocktest.AccountQuotas{Models: map[string]bedrocktest.ModelQuotas{
		testModel: {RecordsPerJob: 150, RecordsPerFile: 120, JobsPerModel: 2},
	}}})
	e.put(t, "in/151.jsonl", jsonl(makeRecords("R", 151)))
	e.put(t, "in/140.jsonl", jsonl(makeRecords("R", 140)))
	e.put(t, "in/110.jsonl", jsonl(makeRecords("R", 110)))
	e.put(t, "two/a.jsonl", jsonl(makeRecords("A", 60)))
	e.put(t, "two/b.jsonl", jsonl(makeRecords("B", 60)))

	_, err := e.bedrock.CreateModelInvocationJob(testCtx(t), e.jobInput("toomany", "in/151.jsonl"))
	checkAPIError(t, err, "ValidationException", "151 records", "maximum of 150")
	_, err = e.bedrock.CreateModelInvocationJob(testCtx(t), e.jobInput("bigfile", "in/140.jsonl"))
	checkAPIError(t, err, "ValidationException", "140 records", "maximum of 120 records per input file")

	// Two files of 60 are within both; so is one of 110, through an inference profile.
	e.create(t, e.jobInput("twofiles", "two/"))
	profile := e.jobInput("profile", "in/110.jsonl")
	profile.ModelId = aws.String("us." + testModel)
	e.create(t, profile)
	// A third job of the model waits for a slot; another model's does not.
	_, err = e.bedrock.CreateModelInvocationJob(testCtx(t), e.jobInput("third", "in/110.jsonl"))
	checkAPIError(t, err, "ServiceQuotaExceededException", "maximum of 2 batch inference jobs", testModel)
	otherModel := e.jobInput("other", "in/151.jsonl")
	otherModel.ModelId = aws.String(other)
	e.create(t, otherModel)
}
