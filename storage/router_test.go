package storage

import "testing"

func TestIsS3(t *testing.T) {
	for in, want := range map[string]bool{
		"s3://b/k": true, "S3://b": true, "s3:/b": false, "s3": false, "./s3://x": false, "": false,
	} {
		if got := IsS3(in); got != want {
			t.Errorf("IsS3(%q) = %t; want %t", in, got, want)
		}
	}
}
