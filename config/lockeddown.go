package config

import (
	"regexp"
	"strings"
)

// The options of locked-down accounts (issue 19): server-side encryption and
// the expected bucket owner on every S3 call, and private networking and
// tags for batch-inference jobs. Every value is checked here, before any
// call, against the patterns the AWS API references give.

// Values of --s3-sse: the x-amz-server-side-encryption header.
const (
	SSEKMS     = "aws:kms"
	SSEKMSDSSE = "aws:kms:dsse"
	SSES3      = "AES256"
)

var (
	// accountID is a 12-digit AWS account id (s3BucketOwner's pattern in
	// the Bedrock API reference, [0-9]{12}).
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
	// kmsKeyID is s3EncryptionKeyId's pattern in the Bedrock API reference
	// (ModelInvocationJobS3OutputDataConfig): a key or alias ARN, a key id
	// or an alias; S3 takes the same forms.
	kmsKeyID = regexp.MustCompile(`^((arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:((key/[a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+)))|([a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+))$`)
	// subnetID and securityGroupID are EC2's id shapes, as the Bedrock
	// AgentCore API reference writes them (VpcConfiguration); Bedrock's
	// VpcConfig takes [-0-9a-zA-Z]+ up to 32 characters, which they satisfy.
	subnetID        = regexp.MustCompile(`^subnet-[0-9a-zA-Z]{8,17}$`)
	securityGroupID = regexp.MustCompile(`^sg-[0-9a-zA-Z]{8,17}$`)
	// tagText is the pattern of a Bedrock tag's key and value (API
	// reference, Tag).
	tagText = regexp.MustCompile(`^[a-zA-Z0-9\s._:/=+@-]*$`)
)

// Limits of CreateModelInvocationJob (API reference: VpcConfig, Tag).
const (
	maxSubnets        = 16
	maxSecurityGroups = 5
	maxTags           = 200
	maxTagKey         = 128
	maxTagValue       = 256
)

// splitIDs reads --batch-subnets and --batch-security-groups: each value
// a comma-separated list, the flag given once or again and again.
func splitIDs(values []string) []string {
	var ids []string
	for _, v := range values {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// Subnets are the subnet ids of batch-inference jobs' vpcConfig.
func (c *Config) Subnets() []string { return splitIDs(c.BatchSubnets) }

// SecurityGroups are the security-group ids of batch-inference jobs'
// vpcConfig.
func (c *Config) SecurityGroups() []string { return splitIDs(c.BatchSecurityGroups) }

// S3Encryption is the server-side encryption every object write asks
// for: --s3-sse, or aws:kms when only --s3-kms-key-id is given.
func (c *Config) S3Encryption() string {
	if c.S3SSE == "" && c.S3KMSKeyID != "" {
		return SSEKMS
	}
	return c.S3SSE
}

// JobKMSKeyID is the key batch-inference jobs write their outputs with
// (s3EncryptionKeyId): the S3 key, when objects are encrypted with one.
func (c *Config) JobKMSKeyID() string {
	if sse := c.S3Encryption(); sse == SSEKMS || sse == SSEKMSDSSE {
		return c.S3KMSKeyID
	}
	return ""
}

// BatchTags returns --tag's KEY=VALUE pairs as a map.
func (c *Config) BatchTags() map[string]string {
	if len(c.Tags) == 0 {
		return nil
	}
	tags := make(map[string]string, len(c.Tags))
	for _, kv := range c.Tags {
		k, v, _ := strings.Cut(kv, "=")
		tags[k] = v
	}
	return tags
}

// validateLockedDown checks the options of locked-down accounts.
func (c *Config) validateLockedDown(add func(string, ...any)) {
	switch c.S3SSE {
	case "", SSEKMS, SSEKMSDSSE:
	case SSES3:
		if c.S3KMSKeyID != "" {
			add("--s3-kms-key-id is for --s3-sse aws:kms or aws:kms:dsse; AES256 uses keys S3 manages")
		}
	default:
		add("--s3-sse %q: want aws:kms, aws:kms:dsse or AES256", c.S3SSE)
	}
	if c.S3KMSKeyID != "" && !kmsKeyID.MatchString(c.S3KMSKeyID) {
		add("--s3-kms-key-id %q: want a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY_ID), an alias (alias/NAME), an alias ARN or a key id", c.S3KMSKeyID)
	}
	if c.ExpectedBucketOwner != "" && !accountID.MatchString(c.ExpectedBucketOwner) {
		add("--expected-bucket-owner %q: want the bucket owner's 12-digit AWS account id", c.ExpectedBucketOwner)
	}
	checkIDs := func(flag string, ids []string, pattern *regexp.Regexp, example string, most int) {
		for _, id := range ids {
			if !pattern.MatchString(id) {
				add("%s %q: want an id such as %s", flag, id, example)
			}
		}
		if len(ids) > most {
			add("%s: %d ids, Bedrock takes at most %d", flag, len(ids), most)
		}
	}
	checkIDs("--batch-subnets", c.Subnets(), subnetID, "subnet-0123456789abcdef0", maxSubnets)
	checkIDs("--batch-security-groups", c.SecurityGroups(), securityGroupID, "sg-0123456789abcdef0", maxSecurityGroups)
	if (len(c.Subnets()) == 0) != (len(c.SecurityGroups()) == 0) {
		add("--batch-subnets and --batch-security-groups go together: a job's VPC configuration needs at least one of each")
	}
	c.validateTags(add)
}

// validateTags checks --tag KEY=VALUE against Bedrock's tag rules.
func (c *Config) validateTags(add func(string, ...any)) {
	if len(c.Tags) > maxTags {
		add("--tag: %d tags, Bedrock takes at most %d", len(c.Tags), maxTags)
	}
	seen := map[string]bool{}
	for _, kv := range c.Tags {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok || k == "":
			add("--tag %q: want KEY=VALUE", kv)
		case len(k) > maxTagKey || len(v) > maxTagValue:
			add("--tag %q: a key has at most %d characters and a value %d", kv, maxTagKey, maxTagValue)
		case !tagText.MatchString(k) || !tagText.MatchString(v):
			add("--tag %q: keys and values hold letters, digits, spaces and _ . : / = + - @ only", kv)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			add("--tag %q: the aws: prefix is reserved for AWS", kv)
		case seen[k]:
			add("--tag %q: the key %s is given twice", kv, k)
		}
		seen[k] = true
	}
}
