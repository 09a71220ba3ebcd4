package config

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

const (
	testKeyARN   = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	testAliasARN = "arn:aws:kms:us-east-1:111122223333:alias/results"
)

func TestValidateLockedDown(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // phrases the error must hold; none = valid
	}{
		{"every option", func(c *Config) {
			c.S3SSE, c.S3KMSKeyID, c.ExpectedBucketOwner = SSEKMS, testKeyARN, "111122223333"
			c.BatchSubnets = []string{"subnet-0123456789abcdef0,subnet-1a2b3c4d", "subnet-0fedcba9876543210"}
			c.BatchSecurityGroups = []string{"sg-0123456789abcdef0"}
			c.Tags = []string{"team=evals", "cost-center=4711", "empty=", "path=a/b:c@d+e"}
		}, nil},
		{"dual-layer with an alias", func(c *Config) { c.S3SSE, c.S3KMSKeyID = SSEKMSDSSE, "alias/results" }, nil},
		{"alias ARN", func(c *Config) { c.S3KMSKeyID = testAliasARN }, nil},
		{"key id", func(c *Config) { c.S3KMSKeyID = "1234abcd-12ab-34cd-56ef-1234567890ab" }, nil},
		{"multi-region key ARN", func(c *Config) {
			c.S3KMSKeyID = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"
		}, nil},
		{"GovCloud key ARN", func(c *Config) {
			c.S3KMSKeyID = "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
		}, nil},
		{"S3-managed keys", func(c *Config) { c.S3SSE = SSES3 }, nil},
		{"unknown encryption", func(c *Config) { c.S3SSE = "kms" }, []string{`--s3-sse "kms"`, "aws:kms, aws:kms:dsse or AES256"}},
		{"a key with AES256", func(c *Config) { c.S3SSE, c.S3KMSKeyID = SSES3, testKeyARN }, []string{"--s3-kms-key-id is for --s3-sse aws:kms"}},
		{"a key that is no key", func(c *Config) { c.S3KMSKeyID = "my-key" }, []string{`--s3-kms-key-id "my-key"`, "KMS key ARN"}},
		{"an S3 ARN as the key", func(c *Config) { c.S3KMSKeyID = "arn:aws:s3:::bucket" }, []string{"--s3-kms-key-id"}},
		{"a short account id", func(c *Config) { c.ExpectedBucketOwner = "11112222333" }, []string{`--expected-bucket-owner "11112222333"`, "12-digit"}},
		{"an account ARN", func(c *Config) { c.ExpectedBucketOwner = "arn:aws:iam::111122223333:root" }, []string{"--expected-bucket-owner"}},
		{"bad subnet and group", func(c *Config) {
			c.BatchSubnets = []string{"subnet-0123456789abcdef0,vpc-0123456789abcdef0"}
			c.BatchSecurityGroups = []string{"sg-12"}
		}, []string{`--batch-subnets "vpc-0123456789abcdef0"`, `--batch-security-groups "sg-12"`}},
		{"subnets without groups", func(c *Config) { c.BatchSubnets = []string{"subnet-0123456789abcdef0"} }, []string{"go together"}},
		{"too many groups", func(c *Config) {
			c.BatchSubnets = []string{"subnet-0123456789abcdef0"}
			c.BatchSecurityGroups = []string{"sg-00000001,sg-00000002,sg-00000003,sg-00000004,sg-00000005,sg-00000006"}
		}, []string{"--batch-security-groups: 6 ids, Bedrock takes at most 5"}},
		{"bad tags", func(c *Config) {
			c.Tags = []string{"novalue", "=v", "aws:owner=me", "team=a", "team=b", "emoji=☺", strings.Repeat("k", 129) + "=v"}
		}, []string{`--tag "novalue": want KEY=VALUE`, `--tag "=v"`, "aws: prefix is reserved", "team is given twice", `--tag "emoji=☺"`, "at most 128"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkValidate(t, tt.change, tt.want) })
	}
}

func TestLockedDownValues(t *testing.T) {
	tests := []struct {
		name       string
		sse, key   string
		wantSSE    string
		wantJobKey string
	}{
		{"nothing", "", "", "", ""},
		{"a key alone means aws:kms", "", testKeyARN, SSEKMS, testKeyARN},
		{"aws:kms with the default key", SSEKMS, "", SSEKMS, ""},
		{"dual-layer", SSEKMSDSSE, testKeyARN, SSEKMSDSSE, testKeyARN},
		{"S3-managed keys", SSES3, "", SSES3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{S3SSE: tt.sse, S3KMSKeyID: tt.key}
			if got := c.S3Encryption(); got != tt.wantSSE {
				t.Errorf("S3Encryption = %q, want %q", got, tt.wantSSE)
			}
			if got := c.JobKMSKeyID(); got != tt.wantJobKey {
				t.Errorf("JobKMSKeyID = %q, want %q", got, tt.wantJobKey)
			}
		})
	}
	c, err := Parse([]string{"--input", "a.jsonl", "--output", "out", "--model", "m",
		"--batch-subnets", "subnet-00000001, subnet-00000002", "--batch-subnets", "subnet-00000003",
		"--batch-security-groups", "sg-00000001", "--tag", "team=evals", "--tag", "note=a=b"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Subnets(), []string{"subnet-00000001", "subnet-00000002", "subnet-00000003"}; !slices.Equal(got, want) {
		t.Errorf("Subnets = %q, want %q", got, want)
	}
	if got, want := c.SecurityGroups(), []string{"sg-00000001"}; !slices.Equal(got, want) {
		t.Errorf("SecurityGroups = %q, want %q", got, want)
	}
	if got, want := c.BatchTags(), map[string]string{"team": "evals", "note": "a=b"}; !maps.Equal(got, want) {
		t.Errorf("BatchTags = %v, want %v", got, want)
	}
}
