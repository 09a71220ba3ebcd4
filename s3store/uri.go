package s3store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// ParseURI splits "s3://bucket/key" into its bucket and key. The key may be
// empty ("s3://bucket" and "s3://bucket/" are the whole bucket) and is kept
// as written: a trailing slash stays.
func ParseURI(s string) (bucket, key string, err error) {
	if !storage.IsS3(s) {
		return "", "", fmt.Errorf("s3store: %q is not an S3 URI: want s3://BUCKET/KEY", s)
	}
	rest := s[len(storage.S3Scheme):]
	bucket, key, _ = strings.Cut(rest, "/")
	if err := checkBucket(bucket); err != nil {
		return "", "", fmt.Errorf("s3store: %q: %w", s, err)
	}
	return bucket, key, nil
}

// checkBucket rejects bucket names S3 can never have, so a typo gets a
// clear message rather than a signature or DNS error.
func checkBucket(b string) error {
	if b == "" {
		return errors.New("no bucket name: want s3://BUCKET/KEY")
	}
	for _, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' ||
			c >= 'A' && c <= 'Z' || c == '_' // upper case and _ only in legacy buckets
		if !ok {
			return fmt.Errorf("invalid bucket name %q: bucket names have only lower-case letters, digits, dots and hyphens", b)
		}
	}
	return nil
}

// uri formats a bucket and key as an S3 URI.
func uri(bucket, key string) string { return storage.S3Scheme + bucket + "/" + key }
