package s3test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The account and key of deploy/locked-down/bucket-policy.json, the example
// bucket policy the tests hold the tool's S3 traffic to.
const (
	// ExampleKMSKeyID is the key the example policy requires.
	ExampleKMSKeyID = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	// ExampleOwner is the account that owns the example's buckets.
	ExampleOwner = "123456789012"
)

// BucketPolicy is the part of an S3 bucket policy a PolicyProxy enforces:
// its Deny statements on s3:PutObject whose conditions read the encryption
// headers of the request, evaluated as IAM does. Principal and Resource are
// not read: a statement applies to every bucket behind the proxy.
type BucketPolicy struct {
	denies []denyStatement
}

// denyStatement is one Deny statement: it denies when all its conditions
// hold.
type denyStatement struct {
	sid        string
	conditions []condition
}

// condition is one operator on one condition key, with its values.
type condition struct {
	op, key string
	values  []string
}

// conditionHeaders are the condition keys a BucketPolicy reads, and the
// request header each stands for.
var conditionHeaders = map[string]string{
	"s3:x-amz-server-side-encryption":                headerSSE,
	"s3:x-amz-server-side-encryption-aws-kms-key-id": headerSSEKeyID,
}

// ParseBucketPolicy reads a bucket policy. Statements other than Deny ones
// on s3:PutObject are left out; a Deny on s3:PutObject with a condition
// operator or key it cannot evaluate is an error, so the proxy never
// enforces less than the policy says.
func ParseBucketPolicy(data []byte) (BucketPolicy, error) {
	var doc struct {
		Statement []struct {
			Sid       string
			Effect    string
			Action    stringOrList
			Condition map[string]map[string]stringOrList
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return BucketPolicy{}, fmt.Errorf("s3test: bucket policy: %w", err)
	}
	var p BucketPolicy
	for _, st := range doc.Statement {
		if st.Effect != "Deny" || !slices.ContainsFunc(st.Action, func(a string) bool { return a == "s3:PutObject" || a == "s3:*" }) {
			continue
		}
		d := denyStatement{sid: st.Sid}
		for op, keys := range st.Condition {
			switch op {
			case "StringEquals", "StringNotEquals", "StringNotEqualsIfExists", "Null":
			default:
				return BucketPolicy{}, fmt.Errorf("s3test: bucket policy statement %q: condition operator %s is not evaluated here", st.Sid, op)
			}
			for key, values := range keys {
				if conditionHeaders[key] == "" {
					return BucketPolicy{}, fmt.Errorf("s3test: bucket policy statement %q: condition key %s is not evaluated here", st.Sid, key)
				}
				d.conditions = append(d.conditions, condition{op: op, key: key, values: values})
			}
		}
		if len(d.conditions) == 0 {
			return BucketPolicy{}, fmt.Errorf("s3test: bucket policy statement %q denies every s3:PutObject", st.Sid)
		}
		p.denies = append(p.denies, d)
	}
	if len(p.denies) == 0 {
		return BucketPolicy{}, errors.New("s3test: the bucket policy has no Deny statement on s3:PutObject")
	}
	return p, nil
}

// deny returns the Sid of the first statement that denies a request that
// creates an object with these headers, or "" when none does.
func (p BucketPolicy) deny(h http.Header) string {
	for _, d := range p.denies {
		if d.holds(h) {
			return d.sid
		}
	}
	return ""
}

// holds reports whether every condition of the statement holds.
func (d denyStatement) holds(h http.Header) bool {
	for _, c := range d.conditions {
		if !c.holds(h) {
			return false
		}
	}
	return true
}

// holds evaluates the condition as IAM does: a missing key makes
// StringEquals false and the negated operators true; Null "true" holds when
// the key is missing.
func (c condition) holds(h http.Header) bool {
	value := h.Get(conditionHeaders[c.key])
	present := value != ""
	switch c.op {
	case "Null":
		return slices.Contains(c.values, "true") != present
	case "StringEquals":
		return present && slices.Contains(c.values, value)
	default: // StringNotEquals, StringNotEqualsIfExists
		return !present || !slices.Contains(c.values, value)
	}
}

// ExamplePolicy is deploy/locked-down/bucket-policy.json, with ExampleOwner
// owning every bucket.
func ExamplePolicy(t testing.TB) Policy {
	t.Helper()
	path := exampleFile("bucket-policy.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	p, err := ParseBucketPolicy(data)
	if err != nil {
		t.Fatalf("s3test: %s: %v", path, err)
	}
	return Policy{Bucket: p, Owner: ExampleOwner}
}

// exampleFile is the path of a file of deploy/locked-down in the source
// tree the tests run from.
func exampleFile(name string) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "deploy", "locked-down", name)
}

// stringOrList is a policy value that is a string or a list of strings.
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(data []byte) error {
	if strings.HasPrefix(strings.TrimSpace(string(data)), "[") {
		return json.Unmarshal(data, (*[]string)(s))
	}
	var one string
	if err := json.Unmarshal(data, &one); err != nil {
		return err
	}
	*s = []string{one}
	return nil
}
