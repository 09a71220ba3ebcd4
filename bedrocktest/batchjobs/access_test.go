package batchjobs_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	btypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
)

const (
	testKeyARN = s3test.ExampleKMSKeyID
	testOwner  = s3test.ExampleOwner
)

// lockDown adds to a job request what a locked-down account gives it.
func lockDown(in *bedrock.CreateModelInvocationJobInput, owner, key string, subnets, groups []string, tags map[string]string) {
	inCfg := in.InputDataConfig.(*btypes.ModelInvocationJobInputDataConfigMemberS3InputDataConfig)
	outCfg := in.OutputDataConfig.(*btypes.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig)
	if owner != "" {
		inCfg.Value.S3BucketOwner, outCfg.Value.S3BucketOwner = aws.String(owner), aws.String(owner)
	}
	if key != "" {
		outCfg.Value.S3EncryptionKeyId = aws.String(key)
	}
	if subnets != nil || groups != nil {
		in.VpcConfig = &btypes.VpcConfig{SubnetIds: subnets, SecurityGroupIds: groups}
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		in.Tags = append(in.Tags, btypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
}

// TestJobRecordsWhatItWasCreatedWith checks that Jobs and GetModelInvocationJob report the
// owners, key and VPC a job was created with, and Jobs its tags.
func TestJobRecordsWhatItWasCreatedWith(t *testing.T) {
	e := newBatchEnv(t, bedrocktest.Options{})
	e.put(t, "in/a.jsonl", jsonl(makeRecords("a", 100)))
	in := e.jobInput("locked", "in/a.jsonl")
	subnets, groups := []string{"subnet-0123456789abcdef0", "subnet-11112222"}, []string{"sg-0123456789abcdef0"}
	tags := map[string]string{"team": "evals", "cost-center": "4711", "note": ""}
	lockDown(in, testOwner, testKeyARN, subnets, groups, tags)
	arn := e.create(t, in)
	plain := e.create(t, e.jobInput("plain", "in/a.jsonl"))

	jobs := e.srv.BatchJobs()
	got := jobs[0]
	if got.ARN != arn || got.InputBucketOwner != testOwner || got.OutputBucketOwner != testOwner || got.OutputKMSKeyID != testKeyARN ||
		!slices.Equal(got.SubnetIDs, subnets) || !slices.Equal(got.SecurityGroupIDs, groups) || !maps.Equal(got.Tags, tags) {
		t.Errorf("job %+v; want owners %s, key %s, subnets %q, groups %q, tags %v", got, testOwner, testKeyARN, subnets, groups, tags)
	}
	if p := jobs[1]; p.ARN != plain || p.InputBucketOwner != "" || p.OutputKMSKeyID != "" || p.SubnetIDs != nil || p.Tags != nil {
		t.Errorf("plain job %+v; want nothing of a locked-down account", p)
	}
	j := e.job(t, arn)
	inCfg := j.InputDataConfig.(*btypes.ModelInvocationJobInputDataConfigMemberS3InputDataConfig).Value
	outCfg := j.OutputDataConfig.(*btypes.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig).Value
	if aws.ToString(inCfg.S3BucketOwner) != testOwner || aws.ToString(outCfg.S3BucketOwner) != testOwner ||
		aws.ToString(outCfg.S3EncryptionKeyId) != testKeyARN || j.VpcConfig == nil ||
		!slices.Equal(j.VpcConfig.SubnetIds, subnets) || !slices.Equal(j.VpcConfig.SecurityGroupIds, groups) {
		t.Errorf("GetModelInvocationJob: input %+v, output %+v, vpc %+v", inCfg, outCfg, j.VpcConfig)
	}
}

// TestLockedDownFieldsAreValidated sends each field out of its API reference constraint:
// each is a ValidationException naming the field, and no job is made.
func TestLockedDownFieldsAreValidated(t *testing.T) {
	many := map[string]string{}
	for i := range 201 {
		many[strings.Repeat("k", 1+i%100)+string(rune('a'+i/100))] = "v"
	}
	tests := []struct {
		name, field    string
		owner, key     string
		subnets, group []string
		tags           map[string]string
	}{
		{"short owner", "s3BucketOwner", "11112222333", "", nil, nil, nil},
		{"key that is no key", "s3EncryptionKeyId", testOwner, "my-key", nil, nil, nil},
		{"subnets without groups", "vpcConfig.securityGroupIds", "", "", []string{"subnet-11112222"}, []string{}, nil},
		{"six groups", "vpcConfig.securityGroupIds", "", "", []string{"subnet-11112222"}, []string{"sg-1", "sg-2", "sg-3", "sg-4", "sg-5", "sg-6"}, nil},
		{"a subnet id with a slash", "vpcConfig.subnetIds", "", "", []string{"subnet/1"}, []string{"sg-1"}, nil},
		{"an empty tag key", "tags.member.key", "", "", nil, nil, map[string]string{"": "v"}},
		{"a tag value with a comma", "tags.member.value", "", "", nil, nil, map[string]string{"k": "a,b"}},
		{"201 tags", "tags", "", "", nil, nil, many},
	}
	e := newBatchEnv(t, bedrocktest.Options{})
	e.put(t, "in/a.jsonl", jsonl(makeRecords("a", 100)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := e.jobInput("bad", "in/a.jsonl")
			lockDown(in, tt.owner, tt.key, tt.subnets, tt.group, tt.tags)
			_, err := e.bedrock.CreateModelInvocationJob(testCtx(t), in)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationException" || !strings.Contains(apiErr.ErrorMessage(), tt.field) {
				t.Errorf("CreateModelInvocationJob: %v; want a ValidationException naming %s", err, tt.field)
			}
		})
	}
	if st := e.srv.BatchStats(); st.JobsCreated != 0 || st.JobsRejected != int64(len(tests)) {
		t.Errorf("%d jobs created, %d rejected; want 0 and %d", st.JobsCreated, st.JobsRejected, len(tests))
	}
}

// TestJobsReachS3AsTheyAsk runs jobs over an S3 bucket behind a locked-down policy: a job
// that names the owner and the key reads its input and writes its outputs through it; one
// without the key cannot write its outputs and fails, as on Bedrock; one without the owner
// cannot even read its input.
func TestJobsReachS3AsTheyAsk(t *testing.T) {
	proxy := s3test.NewPolicyProxy(t, s3test.ExamplePolicy(t))
	direct := s3test.Client(t)
	bucket := s3test.NewBucket(t, direct)
	throughPolicy := s3.NewFromConfig(s3test.Config(t), func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle = aws.String(proxy.URL), true
	})
	store := batchjobs.NewS3ObjectStore(throughPolicy)
	srv := newServer(t, bedrocktest.Options{BatchStore: store})
	e := &batchEnv{srv: srv, bedrock: newBedrockClient(srv.URL), store: batchjobs.NewS3ObjectStore(direct), bucket: bucket}
	e.put(t, "in/a.jsonl", jsonl(makeRecords("a", 100)))

	ok := e.jobInput("ok", "in/a.jsonl")
	lockDown(ok, testOwner, testKeyARN, nil, nil, nil)
	if j := e.wait(t, e.create(t, ok)); j.Status != btypes.ModelInvocationJobStatusCompleted {
		t.Errorf("job with the owner and the key: %s %q", j.Status, aws.ToString(j.Message))
	}
	noKey := e.jobInput("nokey", "in/a.jsonl")
	lockDown(noKey, testOwner, "", nil, nil, nil)
	if j := e.wait(t, e.create(t, noKey)); j.Status != btypes.ModelInvocationJobStatusFailed || !strings.Contains(aws.ToString(j.Message), "could not write") {
		t.Errorf("job without the key: %s %q; want Failed, unable to write its output", j.Status, aws.ToString(j.Message))
	}
	noOwner := e.jobInput("noowner", "in/a.jsonl")
	lockDown(noOwner, "", testKeyARN, nil, nil, nil)
	if _, err := e.bedrock.CreateModelInvocationJob(testCtx(t), noOwner); err == nil || !strings.Contains(err.Error(), "could not read the input") {
		t.Errorf("job without the owner: %v; want its input unreadable", err)
	}
	var writeRefused, readRefused bool
	for _, r := range proxy.Refused() {
		writeRefused = writeRefused || r.Op == "PutObject" && strings.Contains(r.Reason, "x-amz-server-side-encryption")
		readRefused = readRefused || r.Op != "PutObject" && strings.Contains(r.Reason, "expected-bucket-owner")
	}
	if !writeRefused || !readRefused || proxy.Passed()["PutObject"] < 2 {
		t.Errorf("refused %+v, passed %v; want one job's outputs written, the other's refused, and the third's input", proxy.Refused(), proxy.Passed())
	}
}
