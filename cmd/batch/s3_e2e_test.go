package main

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
)

func TestS3Scratch(t *testing.T) {
	c := s3test.Client(t)
	b := s3test.NewBucket(t, c)
	ctx := context.Background()
	for _, k := range []string{"out/x/_write-check-abc", "out/x/data-1.jsonl"} {
		if _, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"", "out/", "out/x/", "out/x/_write", "out/x/_write-check-abc", "out/x/data-1.jsonl"} {
		u, err := s3test.IncompleteUploads(ctx, c, b, p)
		t.Logf("prefix %q: %d %v", p, len(u), err)
	}
}
