package s3store

import "testing"

func TestParseURI(t *testing.T) {
	tests := []struct {
		name, in    string
		bucket, key string
		err         string
	}{
		{name: "object", in: "s3://b-1/dir/x.jsonl", bucket: "b-1", key: "dir/x.jsonl"},
		{name: "prefix", in: "s3://b/dir/", bucket: "b", key: "dir/"},
		{name: "bucket only", in: "s3://b", bucket: "b", key: ""},
		{name: "bucket slash", in: "s3://b/", bucket: "b", key: ""},
		{name: "upper-case scheme", in: "S3://b/k", bucket: "b", key: "k"},
		{name: "glob", in: "s3://b/e/2026-*/part-*.jsonl", bucket: "b", key: "e/2026-*/part-*.jsonl"},
		{name: "no bucket", in: "s3://", err: "no bucket name"},
		{name: "no bucket with key", in: "s3:///k", err: "no bucket name"},
		{name: "bad bucket", in: "s3://my bucket/k", err: "invalid bucket name"},
		{name: "not s3", in: "/tmp/x.jsonl", err: "not an S3 URI"},
		{name: "other scheme", in: "gs://b/k", err: "not an S3 URI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket, key, err := ParseURI(tt.in)
			if tt.err != "" {
				checkErr(t, err, nil, tt.err, tt.in)
				return
			}
			if err != nil || bucket != tt.bucket || key != tt.key {
				t.Fatalf("ParseURI(%q) = %q, %q, %v; want %q, %q", tt.in, bucket, key, err, tt.bucket, tt.key)
			}
		})
	}
}
