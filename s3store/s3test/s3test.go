// Package s3test gives tests an S3 server to talk to: the one scripts/test.sh
// starts (MinIO), found through BEDROCK_BATCH_TEST_S3_* environment variables.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The environment variables that point tests at the S3 server.
const (
	// EnvEndpoint is the server's URL, such as http://127.0.0.1:9000.
	EnvEndpoint = "BEDROCK_BATCH_TEST_S3_ENDPOINT"
	// EnvAccessKey is the access key id of the server's root user.
	EnvAccessKey = "BEDROCK_BATCH_TEST_S3_ACCESS_KEY"
	// EnvSecretKey is the secret access key of the server's root user.
	EnvSecretKey = "BEDROCK_BATCH_TEST_S3_SECRET_KEY"
)

// Region is the region tests sign requests for.
const Region = "us-east-1"

// Endpoint returns the test S3 server's URL and root credentials. Without
// EnvEndpoint it skips the test, except under CI=true, where it fails it:
// CI must never skip the S3 tests silently. Run the tests through
// scripts/test.sh, or start a server with scripts/s3-server.sh.
func Endpoint(t testing.TB) (endpoint, accessKey, secretKey string) {
	t.Helper()
	endpoint = os.Getenv(EnvEndpoint)
	accessKey, secretKey = os.Getenv(EnvAccessKey), os.Getenv(EnvSecretKey)
	if endpoint == "" || accessKey == "" || secretKey == "" {
		const why = EnvEndpoint + ", " + EnvAccessKey + " and " + EnvSecretKey +
			" are not all set: run the tests with scripts/test.sh, or start a server with scripts/s3-server.sh"
		if os.Getenv("CI") == "true" {
			t.Fatal("S3 tests cannot be skipped in CI: " + why)
		} else {
			t.Skip("no S3 server: " + why)
		}
	}
	return endpoint, accessKey, secretKey
}

// Config returns an aws.Config for the test server: its static root
// credentials, region us-east-1 and the server as BaseEndpoint. It skips or
// fails the test as Endpoint does.
func Config(t testing.TB) aws.Config {
	t.Helper()
	endpoint, accessKey, secretKey := Endpoint(t)
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// Client returns a path-style S3 client of the test server, for setting up
// and checking what the code under test does.
func Client(t testing.TB) *s3.Client {
	t.Helper()
	return s3.NewFromConfig(Config(t), func(o *s3.Options) { o.UsePathStyle = true })
}

// NewBucket creates a bucket with a unique name and returns the name. When
// the test ends it aborts the bucket's incomplete multipart uploads,
// deletes its objects and deletes it.
func NewBucket(t testing.TB, client *s3.Client) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	bucket := "bbtest-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("s3test: creating bucket %s: %v", bucket, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := RemoveBucket(ctx, client, bucket); err != nil {
			t.Errorf("s3test: %v", err)
		}
	})
	return bucket
}

// RemoveBucket aborts a bucket's incomplete multipart uploads, deletes its
// objects and deletes it.
func RemoveBucket(ctx context.Context, client *s3.Client, bucket string) error {
	uploads, err := IncompleteUploads(ctx, client, bucket, "")
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range uploads {
		_, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(bucket), Key: u.Key, UploadId: u.UploadId,
		})
		errs = append(errs, err)
	}
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, o := range page.Contents {
			_, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			errs = append(errs, err)
		}
	}
	_, err = client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	return errors.Join(append(errs, err)...)
}

// IncompleteUploads lists the multipart uploads of a bucket under a key
// prefix that were neither completed nor aborted. MinIO lists only the
// uploads of one object: pass its whole key as the prefix.
func IncompleteUploads(ctx context.Context, client *s3.Client, bucket, prefix string) ([]types.MultipartUpload, error) {
	var all []types.MultipartUpload
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	for {
		out, err := client.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, err
		}
		all = append(all, out.Uploads...)
		if !aws.ToBool(out.IsTruncated) {
			return all, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}
