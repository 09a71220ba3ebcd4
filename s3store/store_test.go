package s3store

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
)

func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Options
		want Options
	}{
		{"zero", Options{}, Options{PartSize: DefaultPartSize, RetryMaxAttempts: DefaultRetryMaxAttempts, RetryMaxBackoff: DefaultRetryMaxBackoff}},
		{"small part", Options{PartSize: 1}, Options{PartSize: MinPartSize, RetryMaxAttempts: DefaultRetryMaxAttempts, RetryMaxBackoff: DefaultRetryMaxBackoff}},
		{"kept", Options{PartSize: 64 << 20, RetryMaxAttempts: 3, RetryMaxBackoff: 1}, Options{PartSize: 64 << 20, RetryMaxAttempts: 3, RetryMaxBackoff: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.withDefaults(); got != tt.want {
				t.Errorf("withDefaults() = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestPathStyle(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	tests := []struct {
		name string
		cfg  aws.Config
		opts Options
		env  string
		want bool
	}{
		{"AWS", aws.Config{Region: "us-east-1"}, Options{}, "", false},
		{"forced", aws.Config{Region: "us-east-1"}, Options{PathStyle: true}, "", true},
		{"endpoint", aws.Config{Region: "us-east-1"}, Options{Endpoint: "http://127.0.0.1:9000"}, "", true},
		{"base endpoint", aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://x")}, Options{}, "", true},
		{"AWS_ENDPOINT_URL_S3", aws.Config{Region: "us-east-1"}, Options{}, "http://127.0.0.1:9000", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL_S3", tt.env)
			s := New(tt.cfg, tt.opts)
			if s.pathStyle != tt.want {
				t.Errorf("path style %t; want %t", s.pathStyle, tt.want)
			}
			if !strings.Contains(s.String(), "path-style "+map[bool]string{true: "true", false: "false"}[tt.want]) {
				t.Errorf("String() = %q", s.String())
			}
		})
	}
}

// TestLoadDefaultConfig builds the Store as the command does, from
// config.LoadDefaultConfig with the endpoint in AWS_ENDPOINT_URL_S3 only.
func TestLoadDefaultConfig(t *testing.T) {
	endpoint, accessKey, secretKey := s3test.Endpoint(t)
	client := s3test.Client(t)
	bucket := s3test.NewBucket(t, client)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_S3":         endpoint,
		"AWS_ENDPOINT_URL":            "",
		"AWS_ACCESS_KEY_ID":           accessKey,
		"AWS_SECRET_ACCESS_KEY":       secretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "us-east-1",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg, Options{})
	d, err := s.Dir(ctx(t), uri(bucket, "in/"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx(t), "a.jsonl", []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	uris, err := s.Expand(ctx(t), uri(bucket, "in/"))
	if err != nil || !slices.Equal(uris, []string{uri(bucket, "in/a.jsonl")}) {
		t.Fatalf("Expand = %q, %v", uris, err)
	}
	rc, err := s.Open(ctx(t), uris[0])
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || string(got) != "{}\n" {
		t.Errorf("read %q, %v", got, err)
	}
}
