package batchinfer

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock/types"
)

// TestSubmitLockedDown checks that a job carries what a locked-down account asks of it
// (s3EncryptionKeyId, s3BucketOwner on its input and output, vpcConfig, tags) when
// configured, and none of it when not.
func TestSubmitLockedDown(t *testing.T) {
	const key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	locked := Config{RunKey: "run", RoleARN: testRole, MinRecords: 2, KMSKeyID: key, BucketOwner: "111122223333",
		SubnetIDs: []string{"subnet-00000001", "subnet-00000002"}, SecurityGroupIDs: []string{"sg-00000001"},
		Tags: map[string]string{"team": "evals", "cost-center": "4711"}}
	tests := []struct {
		name                             string
		cfg                              Config
		key, inOwner, outOwner, vpc, tag string
	}{
		{"locked down", locked, key, "111122223333", "111122223333", "subnet-00000001,subnet-00000002/sg-00000001", "cost-center=4711,team=evals"},
		{"plain", Config{RunKey: "run", RoleARN: testRole, MinRecords: 2}, "", "", "", "", ""},
		{"owner only", Config{RunKey: "run", RoleARN: testRole, MinRecords: 2, BucketOwner: "444455556666"}, "", "444455556666", "444455556666", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, control := newMemStore(), newFakeControl()
			p := stage(t, store, tt.cfg, modelB, 3)[0]
			if err := NewJobs(control, store, tt.cfg).Submit(testCtx(t), &p); err != nil {
				t.Fatal(err)
			}
			in := control.creates[0]
			inCfg := in.InputDataConfig.(*types.ModelInvocationJobInputDataConfigMemberS3InputDataConfig).Value
			outCfg := in.OutputDataConfig.(*types.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig).Value
			vpc := ""
			if in.VpcConfig != nil {
				vpc = strings.Join(in.VpcConfig.SubnetIds, ",") + "/" + strings.Join(in.VpcConfig.SecurityGroupIds, ",")
			}
			var tags []string
			for _, tag := range in.Tags {
				tags = append(tags, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
			}
			for _, c := range []struct{ what, got, want string }{
				{"s3EncryptionKeyId", aws.ToString(outCfg.S3EncryptionKeyId), tt.key},
				{"input s3BucketOwner", aws.ToString(inCfg.S3BucketOwner), tt.inOwner},
				{"output s3BucketOwner", aws.ToString(outCfg.S3BucketOwner), tt.outOwner},
				{"vpcConfig", vpc, tt.vpc},
				{"tags, in key order", strings.Join(tags, ","), tt.tag},
			} {
				if c.got != c.want {
					t.Errorf("%s: %q, want %q", c.what, c.got, c.want)
				}
			}
		})
	}
	// The options are the job's own: changing the Config afterwards changes no job sent.
	store, control := newMemStore(), newFakeControl()
	p := stage(t, store, locked, modelB, 3)[0]
	jobs := NewJobs(control, store, locked)
	if err := jobs.Submit(testCtx(t), &p); err != nil {
		t.Fatal(err)
	}
	locked.SubnetIDs[0] = "subnet-changed"
	if got := control.creates[0].VpcConfig.SubnetIds; !slices.Equal(got, []string{"subnet-00000001", "subnet-00000002"}) {
		t.Errorf("the job's subnets changed with the Config: %q", got)
	}
}

func TestSubmitRefusesHalfAVPC(t *testing.T) {
	cfg := Config{RunKey: "run", RoleARN: testRole, MinRecords: 2, SubnetIDs: []string{"subnet-00000001"}}
	store, control := newMemStore(), newFakeControl()
	p := stage(t, store, Config{RunKey: "run", MinRecords: 2}, modelB, 3)[0]
	err := NewJobs(control, store, cfg).Submit(testCtx(t), &p)
	if err == nil || !strings.Contains(err.Error(), "1 subnets and 0 security groups") || len(control.creates) != 0 {
		t.Errorf("Submit: %v with %d jobs created; want the half VPC refused and no job", err, len(control.creates))
	}
}
