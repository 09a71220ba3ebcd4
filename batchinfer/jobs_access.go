package batchinfer

import (
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrock/types"
)

// lockDown adds to a job what a locked-down account asks of it: the KMS key its outputs
// are written with, the owner of the bucket its input and output are in, the VPC it
// reaches them from and its tags. Tags go in key order, so a job submitted again with the
// same options is the same request.
func (c Config) lockDown(in *bedrock.CreateModelInvocationJobInput) {
	if c.BucketOwner != "" {
		if s3, ok := in.InputDataConfig.(*types.ModelInvocationJobInputDataConfigMemberS3InputDataConfig); ok {
			s3.Value.S3BucketOwner = aws.String(c.BucketOwner)
		}
	}
	if s3, ok := in.OutputDataConfig.(*types.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig); ok {
		if c.BucketOwner != "" {
			s3.Value.S3BucketOwner = aws.String(c.BucketOwner)
		}
		if c.KMSKeyID != "" {
			s3.Value.S3EncryptionKeyId = aws.String(c.KMSKeyID)
		}
	}
	if len(c.SubnetIDs) > 0 || len(c.SecurityGroupIDs) > 0 {
		in.VpcConfig = &types.VpcConfig{SubnetIds: slices.Clone(c.SubnetIDs), SecurityGroupIds: slices.Clone(c.SecurityGroupIDs)}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Tags)) {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(c.Tags[k])})
	}
}
