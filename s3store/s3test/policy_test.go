package s3test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const (
	testKey   = ExampleKMSKeyID
	testOwner = ExampleOwner
)

// setHeader is a middleware that sets a request header, in the Build step
// (signed) or after the Finalize step's signer (not signed).
type setHeader struct{ name, value string }

func (setHeader) ID() string { return "s3test/setHeader" }

func (h setHeader) HandleBuild(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
	in.Request.(*smithyhttp.Request).Header.Set(h.name, h.value)
	return next.HandleBuild(ctx, in)
}

func (h setHeader) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	in.Request.(*smithyhttp.Request).Header.Set(h.name, h.value)
	return next.HandleFinalize(ctx, in)
}

// signed sets a header before signing; unsigned after.
func signed(name, value string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error { return s.Build.Add(setHeader{name, value}, middleware.After) })
	}
}

func unsigned(name, value string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Finalize.Insert(setHeader{name, value}, "Signing", middleware.After)
		})
	}
}

// TestPolicyProxy sends requests straight through the SDK, each breaking
// one rule or none, and checks what the proxy answers and that what it
// lets through reaches the server.
func TestPolicyProxy(t *testing.T) {
	direct := Client(t)
	bucket := NewBucket(t, direct)
	proxy := NewPolicyProxy(t, ExamplePolicy(t))
	client := s3.NewFromConfig(Config(t), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(proxy.URL)
		o.UsePathStyle = true
		o.RetryMaxAttempts = 1
	})
	ctx := context.Background()
	put := func(key string, sse types.ServerSideEncryption, keyID, owner string, opts ...func(*s3.Options)) error {
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader([]byte(key)),
			ServerSideEncryption: sse}
		if keyID != "" {
			in.SSEKMSKeyId = aws.String(keyID)
		}
		if owner != "" {
			in.ExpectedBucketOwner = aws.String(owner)
		}
		_, err := client.PutObject(ctx, in, opts...)
		return err
	}
	tests := []struct {
		name    string
		call    func() error
		code    string // "" for a request that passes
		message string
	}{
		{"encrypted with the key, owner named", func() error { return put("ok", types.ServerSideEncryptionAwsKms, testKey, testOwner) }, "", ""},
		{"dual-layer with the key", func() error { return put("dsse", types.ServerSideEncryptionAwsKmsDsse, testKey, testOwner) }, "", ""},
		{"no encryption", func() error { return put("plain", "", "", testOwner) }, "AccessDenied", "explicit deny in a resource-based policy"},
		{"S3-managed keys", func() error { return put("aes", types.ServerSideEncryptionAes256, "", testOwner) }, "AccessDenied", "explicit deny"},
		{"another key", func() error { return put("other", types.ServerSideEncryptionAwsKms, "alias/other", testOwner) }, "AccessDenied", "explicit deny"},
		{"no owner", func() error { return put("noowner", types.ServerSideEncryptionAwsKms, testKey, "") }, "AccessDenied", "Access Denied"},
		{"another owner", func() error { return put("otherowner", types.ServerSideEncryptionAwsKms, testKey, "444455556666") }, "AccessDenied", "Access Denied"},
		{"owner header not signed", func() error {
			return put("unsigned", types.ServerSideEncryptionAwsKms, testKey, "", unsigned("X-Amz-Expected-Bucket-Owner", testOwner))
		}, "AccessDenied", "headers present in the request which were not signed"},
		{"signed header changed after signing", func() error {
			return put("tampered", types.ServerSideEncryptionAwsKms, testKey, "444455556666", unsigned("X-Amz-Expected-Bucket-Owner", testOwner))
		}, "SignatureDoesNotMatch", ""},
		{"encryption header on a read", func() error {
			_, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), ExpectedBucketOwner: aws.String(testOwner)},
				signed("X-Amz-Server-Side-Encryption", "aws:kms"))
			return err
		}, "InvalidArgument", "not supported for this operation"},
		{"read with the owner", func() error {
			_, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), ExpectedBucketOwner: aws.String(testOwner)})
			return err
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refusedBefore := len(proxy.Refused())
			err := tt.call()
			var apiErr smithy.APIError
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.code != "" && !errors.As(err, &apiErr):
				t.Fatalf("error %v, want %s", err, tt.code)
			case tt.code != "" && (apiErr.ErrorCode() != tt.code || !strings.Contains(apiErr.ErrorMessage(), tt.message)):
				t.Errorf("error %s %q, want %s saying %q", apiErr.ErrorCode(), apiErr.ErrorMessage(), tt.code, tt.message)
			}
			if refused := len(proxy.Refused()) - refusedBefore; (refused == 1) != (tt.code != "") {
				t.Errorf("%d refusals recorded", refused)
			}
		})
	}
	for _, key := range []string{"ok", "dsse", "plain", "aes", "other", "noowner", "otherowner", "unsigned", "tampered"} {
		out, err := direct.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		reached := err == nil
		if reached {
			data, _ := io.ReadAll(out.Body)
			out.Body.Close()
			reached = string(data) == key
		}
		if want := key == "ok" || key == "dsse"; reached != want {
			t.Errorf("object %q on the server: %t, want %t", key, reached, want)
		}
	}
}
