package s3test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestExamplePolicyDenies evaluates deploy/locked-down/bucket-policy.json
// on the encryption headers of object writes, as IAM would.
func TestExamplePolicyDenies(t *testing.T) {
	p := ExamplePolicy(t)
	tests := []struct {
		name, sse, key, wantSid string
	}{
		{"SSE-KMS with the key", "aws:kms", ExampleKMSKeyID, ""},
		{"DSSE-KMS with the key", "aws:kms:dsse", ExampleKMSKeyID, ""},
		{"no encryption", "", "", "DenyObjectsNotEncryptedWithKMS"},
		{"S3-managed keys", "AES256", "", "DenyObjectsNotEncryptedWithKMS"},
		{"SSE-KMS with the AWS managed key", "aws:kms", "", "DenyObjectsEncryptedWithAnotherKey"},
		{"SSE-KMS with another key", "aws:kms", "alias/other", "DenyObjectsEncryptedWithAnotherKey"},
		{"the key's id rather than its ARN", "aws:kms", "1234abcd-12ab-34cd-56ef-1234567890ab", "DenyObjectsEncryptedWithAnotherKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.sse != "" {
				h.Set(headerSSE, tt.sse)
			}
			if tt.key != "" {
				h.Set(headerSSEKeyID, tt.key)
			}
			if got := p.Bucket.deny(h); got != tt.wantSid {
				t.Errorf("denied by %q, want %q", got, tt.wantSid)
			}
		})
	}
}

func TestParseBucketPolicy(t *testing.T) {
	tests := []struct {
		name, policy string
		err          string // "" for a policy that parses
		deniesPlain  bool   // a PutObject without encryption headers is denied
	}{
		{"Null and StringNotEqualsIfExists", `{"Statement":[
			{"Sid":"a","Effect":"Deny","Action":["s3:PutObject"],"Condition":{"Null":{"s3:x-amz-server-side-encryption":"true"}}},
			{"Sid":"b","Effect":"Deny","Action":"s3:*","Condition":{"StringNotEqualsIfExists":{"s3:x-amz-server-side-encryption":"aws:kms"}}},
			{"Sid":"allow","Effect":"Allow","Action":"s3:*"}]}`, "", true},
		{"StringEquals denies only what it names", `{"Statement":[
			{"Sid":"a","Effect":"Deny","Action":"s3:PutObject","Condition":{"StringEquals":{"s3:x-amz-server-side-encryption":"AES256"}}}]}`, "", false},
		{"an operator not evaluated", `{"Statement":[
			{"Sid":"a","Effect":"Deny","Action":"s3:PutObject","Condition":{"StringNotLike":{"s3:x-amz-server-side-encryption":"aws:*"}}}]}`, "StringNotLike", false},
		{"a key not evaluated", `{"Statement":[
			{"Sid":"a","Effect":"Deny","Action":"s3:PutObject","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, "Bool", false},
		{"a deny of every write", `{"Statement":[{"Sid":"a","Effect":"Deny","Action":"s3:PutObject"}]}`, "denies every s3:PutObject", false},
		{"no deny at all", `{"Statement":[{"Effect":"Allow","Action":"s3:*"}]}`, "no Deny statement", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseBucketPolicy([]byte(tt.policy))
			switch {
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want one saying %q", err, tt.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if denied := p.deny(http.Header{}) != ""; denied != tt.deniesPlain {
				t.Errorf("a write without encryption denied: %t, want %t", denied, tt.deniesPlain)
			}
			h := http.Header{}
			h.Set(headerSSE, "AES256")
			if denied := p.deny(h) != ""; tt.name == "StringEquals denies only what it names" && !denied {
				t.Error("AES256 not denied by StringEquals AES256")
			}
		})
	}
}

// TestExampleIAMPolicies keeps deploy/locked-down's IAM examples valid
// JSON policies that grant what README.md's "Locked-down accounts" says,
// on the key and the account the bucket policy names.
func TestExampleIAMPolicies(t *testing.T) {
	type statement struct {
		Sid, Effect      string
		Action, Resource stringOrList
		Condition        map[string]map[string]stringOrList
	}
	read := func(name string) []statement {
		t.Helper()
		data, err := os.ReadFile(exampleFile(name))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Version   string
			Statement []statement
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil || doc.Version != "2012-10-17" || len(doc.Statement) == 0 {
			t.Fatalf("%s: %v (version %q, %d statements)", name, err, doc.Version, len(doc.Statement))
		}
		return doc.Statement
	}
	grants := func(sts []statement, effect, action, resource string) bool {
		for _, s := range sts {
			if s.Effect == effect && slices.Contains(s.Action, action) && slices.Contains(s.Resource, resource) {
				return true
			}
		}
		return false
	}
	caller, role := read("caller-policy.json"), read("service-role-policy.json")
	for _, action := range []string{"kms:GenerateDataKey", "kms:Decrypt"} {
		if !grants(caller, "Allow", action, ExampleKMSKeyID) {
			t.Errorf("caller-policy.json does not allow %s on %s", action, ExampleKMSKeyID)
		}
		if !grants(role, "Allow", action, ExampleKMSKeyID) {
			t.Errorf("service-role-policy.json does not allow %s on %s", action, ExampleKMSKeyID)
		}
	}
	ownerRule := false
	for _, s := range caller {
		if s.Effect == "Deny" && slices.Equal(s.Condition["StringNotEquals"]["s3:ResourceAccount"], []string{ExampleOwner}) {
			ownerRule = true
		}
	}
	if !ownerRule {
		t.Errorf("caller-policy.json does not deny S3 buckets of accounts other than %s", ExampleOwner)
	}
	for _, action := range []string{"ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeSubnets", "ec2:CreateTags"} {
		found := false
		for _, s := range role {
			found = found || s.Effect == "Allow" && slices.Contains(s.Action, action)
		}
		if !found {
			t.Errorf("service-role-policy.json does not allow %s", action)
		}
	}
}
