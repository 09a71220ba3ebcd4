package batchjobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ObjectStore is where batch jobs read their inputs and write their outputs: S3 in practice
// (NewS3ObjectStore), a MemoryStore in unit tests. The context of each call carries the
// job's Access (AccessFrom): the S3 one sends it as Bedrock would.
type ObjectStore interface {
	// Get returns an object's bytes; a missing object or bucket is an error that wraps
	// fs.ErrNotExist, so the emulator tells "not there" from "could not read".
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	// Put writes an object whole.
	Put(ctx context.Context, bucket, key string, data []byte) error
	// List returns the keys under prefix, at any depth, sorted.
	List(ctx context.Context, bucket, prefix string) ([]string, error)
}

// NewS3ObjectStore returns an ObjectStore over an S3 client: a real one pointed at AWS, or
// at a local server (MinIO) with path-style addressing.
func NewS3ObjectStore(client *s3.Client) ObjectStore { return s3Store{client} }

type s3Store struct{ c *s3.Client }

var _ ObjectStore = s3Store{}

func (s s3Store) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	a := AccessFrom(ctx)
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ExpectedBucketOwner: optional(a.Owner)},
		func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true }) // MinIO sends no checksum: not news
	if err != nil {
		return nil, s3Err("get", bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, s3Err("get", bucket, key, err)
	}
	return data, nil
}

func (s s3Store) Put(ctx context.Context, bucket, key string, data []byte) error {
	a := AccessFrom(ctx)
	in := &s3.PutObjectInput{
		Bucket:              aws.String(bucket),
		Key:                 aws.String(key),
		Body:                bytes.NewReader(data),
		ContentLength:       aws.Int64(int64(len(data))),
		ExpectedBucketOwner: optional(a.Owner),
	}
	if a.KMSKeyID != "" { // the job's s3EncryptionKeyId: its outputs are SSE-KMS with that key
		in.ServerSideEncryption, in.SSEKMSKeyId = types.ServerSideEncryptionAwsKms, aws.String(a.KMSKeyID)
	}
	_, err := s.c.PutObject(ctx, in)
	return s3Err("put", bucket, key, err)
}

func (s s3Store) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix),
		ExpectedBucketOwner: optional(AccessFrom(ctx).Owner)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s3Err("list", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// optional is s as an optional field: nil when empty.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// s3Err names the object in err, and wraps fs.ErrNotExist for a missing key or bucket.
func s3Err(op, bucket, key string, err error) error {
	if err == nil {
		return nil
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NoSuchBucket", "NotFound":
			return fmt.Errorf("%s s3://%s/%s: %w (%w)", op, bucket, key, fs.ErrNotExist, err)
		}
	}
	return fmt.Errorf("%s s3://%s/%s: %w", op, bucket, key, err)
}

// parseS3URI splits s3://bucket/key; the key may be empty or a prefix.
func parseS3URI(uri string) (bucket, key string, ok bool) {
	rest, found := strings.CutPrefix(uri, "s3://")
	if !found {
		return "", "", false
	}
	bucket, key, _ = strings.Cut(rest, "/")
	return bucket, key, bucket != ""
}
