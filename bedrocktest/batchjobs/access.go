package batchjobs

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
)

// What a job of a locked-down account is created with, checked against the API reference
// (CreateModelInvocationJob, ModelInvocationJobS3InputDataConfig,
// ModelInvocationJobS3OutputDataConfig, VpcConfig, Tag), and how the job then reaches S3.

type (
	// vpcConfig is the request's vpcConfig: both lists are required, 1 to 16 subnets and 1 to
	// 5 security groups, each id matching [-0-9a-zA-Z]+ and at most 32 characters.
	vpcConfig struct {
		SubnetIDs        []string `json:"subnetIds"`
		SecurityGroupIDs []string `json:"securityGroupIds"`
	}
	// wireTag is one of the request's tags (at most 200): a key of 1 to 128 characters and a
	// value of at most 256, both matching [a-zA-Z0-9\s._:/=+@-]*.
	wireTag struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
)

var (
	ownerPattern   = regexp.MustCompile(`^[0-9]{12}$`)
	keyIDPattern   = regexp.MustCompile(`^((arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:((key/[a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+)))|([a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+))$`)
	vpcIDPattern   = regexp.MustCompile(`^[-0-9a-zA-Z]+$`)
	tagTextPattern = regexp.MustCompile(`^[a-zA-Z0-9\s._:/=+@-]*$`)
)

// constraint is the ValidationException message of one field that breaks its constraint.
func constraint(value, field, rule string) string {
	return fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, field, rule)
}

// checkAccess checks the owners, the key, the VPC and the tags of a request, and returns
// the spec's canonical vpc and tags texts, or why the request is invalid.
func (req *createJobRequest) checkAccess() (vpc, tags, msg string) {
	if in := req.InputDataConfig.S3; in != nil && in.S3BucketOwner != "" && !ownerPattern.MatchString(in.S3BucketOwner) {
		return "", "", constraint(in.S3BucketOwner, "inputDataConfig.s3InputDataConfig.s3BucketOwner", "Member must satisfy regular expression pattern: [0-9]{12}")
	}
	if out := req.OutputDataConfig.S3; out != nil {
		if out.S3BucketOwner != "" && !ownerPattern.MatchString(out.S3BucketOwner) {
			return "", "", constraint(out.S3BucketOwner, "outputDataConfig.s3OutputDataConfig.s3BucketOwner", "Member must satisfy regular expression pattern: [0-9]{12}")
		}
		if k := out.S3EncryptionKeyID; k != "" && (len(k) > 2048 || !keyIDPattern.MatchString(k)) {
			return "", "", constraint(k, "outputDataConfig.s3OutputDataConfig.s3EncryptionKeyId", "Member must be a KMS key ARN, key id, alias or alias ARN")
		}
	}
	if v := vpcJSON(req.VpcConfig); v != "" {
		var c vpcConfig
		if err := json.Unmarshal(req.VpcConfig, &c); err != nil {
			return "", "", "The vpcConfig is not valid: " + err.Error()
		}
		for _, f := range []struct {
			field string
			ids   []string
			most  int
		}{{"vpcConfig.subnetIds", c.SubnetIDs, 16}, {"vpcConfig.securityGroupIds", c.SecurityGroupIDs, 5}} {
			if len(f.ids) < 1 || len(f.ids) > f.most {
				return "", "", constraint(fmt.Sprint(f.ids), f.field, fmt.Sprintf("Member must have length between 1 and %d", f.most))
			}
			for _, id := range f.ids {
				if len(id) > 32 || !vpcIDPattern.MatchString(id) {
					return "", "", constraint(id, f.field, "Member must have length less than or equal to 32 and match the pattern [-0-9a-zA-Z]+")
				}
			}
		}
		canonical, _ := json.Marshal(c)
		vpc = string(canonical)
	}
	if len(req.Tags) > 200 {
		return "", "", constraint(fmt.Sprint(len(req.Tags)), "tags", "Member must have length less than or equal to 200")
	}
	for _, t := range req.Tags {
		if len(t.Key) < 1 || len(t.Key) > 128 || !tagTextPattern.MatchString(t.Key) {
			return "", "", constraint(t.Key, "tags.member.key", `Member must have length between 1 and 128 and match the pattern [a-zA-Z0-9\s._:/=+@-]*`)
		}
		if len(t.Value) > 256 || !tagTextPattern.MatchString(t.Value) {
			return "", "", constraint(t.Value, "tags.member.value", `Member must have length less than or equal to 256 and match the pattern [a-zA-Z0-9\s._:/=+@-]*`)
		}
	}
	if len(req.Tags) > 0 {
		canonical, _ := json.Marshal(req.Tags)
		tags = string(canonical)
	}
	return vpc, tags, ""
}

// describeAccess fills in what d says of how the job was created to reach S3.
func (s *jobSpec) describeAccess(d *Job) {
	d.InputBucketOwner, d.OutputBucketOwner, d.OutputKMSKeyID = s.inOwner, s.outOwner, s.outKeyID
	if s.vpc != "" {
		var c vpcConfig
		json.Unmarshal([]byte(s.vpc), &c)
		d.SubnetIDs, d.SecurityGroupIDs = c.SubnetIDs, c.SecurityGroupIDs
	}
	if s.tags != "" {
		var tags []wireTag
		json.Unmarshal([]byte(s.tags), &tags)
		d.Tags = make(map[string]string, len(tags))
		for _, t := range tags {
			d.Tags[t.Key] = t.Value
		}
	}
}

// Access is how a job reaches S3, as Bedrock does on its behalf: the bucket owner the
// request named (sent as x-amz-expected-bucket-owner) and, for outputs, the KMS key they are
// encrypted with (SSE-KMS). The Service puts it in the context of each ObjectStore call.
type Access struct {
	Owner    string
	KMSKeyID string
}

type accessKey struct{}

// withAccess returns ctx carrying a.
func withAccess(ctx context.Context, a Access) context.Context {
	return context.WithValue(ctx, accessKey{}, a)
}

// AccessFrom returns the Access of an ObjectStore call: how the job asked to reach S3.
func AccessFrom(ctx context.Context) Access {
	a, _ := ctx.Value(accessKey{}).(Access)
	return a
}
