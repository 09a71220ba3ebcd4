package batchinfer

import (
	"regexp"
	"strings"
	"testing"
)

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func TestSlug(t *testing.T) {
	tests := []struct{ in, readable string }{
		{"anthropic.claude-3-haiku-20240307-v1:0", "anthropic-claude-3-haiku-20240307-v1-0"},
		{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0", "arn-aws-bedrock-us-east-1-123456789012-i"},
		{"job-1/shard-0", "job-1-shard-0"},
		{"::://", ""},
		{"", ""},
		{"UPPER Case__x", "upper-case-x"},
	}
	for _, tt := range tests {
		got := slug(tt.in)
		if !slugPattern.MatchString(got) {
			t.Errorf("slug(%q) = %q: not [a-z0-9-]", tt.in, got)
		}
		if !strings.HasPrefix(got, tt.readable) || len(got) > slugReadable+11 {
			t.Errorf("slug(%q) = %q, want %q then a hash", tt.in, got, tt.readable)
		}
		if slug(tt.in) != got {
			t.Errorf("slug(%q) is not stable", tt.in)
		}
	}
	if got, want := modelSlug("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0"), "us-amazon-nova-lite-v1-0-"; !strings.HasPrefix(got, want) {
		t.Errorf("modelSlug of an ARN = %q, want it to start with %q", got, want)
	}
	// Ids that read the same still get different slugs.
	seen := map[string]string{}
	for _, id := range []string{"a:b", "a/b", "a.b", "A-B", "a b", "a--b"} {
		s := modelSlug(id)
		if other, ok := seen[s]; ok {
			t.Errorf("slug(%q) = slug(%q) = %q", id, other, s)
		}
		seen[s] = id
	}
}

func TestJobNameAndToken(t *testing.T) {
	models := []string{
		"anthropic.claude-3-haiku-20240307-v1:0",
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
		"::::",
		strings.Repeat("verylongmodelname", 10),
	}
	names := map[string]bool{}
	tokens := map[string]bool{}
	for _, runKey := range []string{"run", "run-2", "job:with/odd=chars"} {
		for _, model := range models {
			for _, n := range []int{1, 2, 123456} {
				p := &Part{Model: model, Name: partName(runKey, model, n)}
				name, token := JobName(runKey, p), ClientRequestToken(runKey, p)
				if len(name) > 63 || !jobNamePattern.MatchString(name) {
					t.Errorf("JobName(%q, %s) = %q: not a valid job name", runKey, p.Name, name)
				}
				if len(token) > 256 || !tokenPattern.MatchString(token) {
					t.Errorf("ClientRequestToken(%q, %s) = %q: not a valid token", runKey, p.Name, token)
				}
				if JobName(runKey, p) != name || ClientRequestToken(runKey, p) != token {
					t.Errorf("name or token of %s is not stable", p.Name)
				}
				if names[name] || tokens[token] {
					t.Errorf("name %q or token %q used twice", name, token)
				}
				names[name], tokens[token] = true, true
				for _, uri := range []string{"s3://bucket/prefix/" + p.Name, "s3://bucket/prefix/" + outPrefix(p)} {
					if !s3URIPattern.MatchString(uri) {
						t.Errorf("%s is not a valid S3 URI for Bedrock", uri)
					}
				}
			}
		}
	}
}

func TestOutputName(t *testing.T) {
	p := &Part{Name: "run-abc/model-def/part-00003.jsonl", JobARN: "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456"}
	if got, want := outputName(p), "out/run-abc/model-def/part-00003/abcdef123456/part-00003.jsonl.out"; got != want {
		t.Errorf("outputName = %q, want %q", got, want)
	}
}

func TestPartNumber(t *testing.T) {
	tests := []struct {
		name string
		n    int
		ok   bool
	}{
		{"r/m/part-00001.jsonl", 1, true},
		{"r/m/part-123456.jsonl", 123456, true},
		{"r/m/part-.jsonl", 0, false},
		{"r/m/part-0x1.jsonl", 0, false},
		{"r/m/part-00001.jsonl.out", 0, false},
		{"r/other/part-00001.jsonl", 0, false},
	}
	for _, tt := range tests {
		n, ok := partNumber(tt.name, "r/m")
		if n != tt.n || ok != tt.ok {
			t.Errorf("partNumber(%q) = %d, %t; want %d, %t", tt.name, n, ok, tt.n, tt.ok)
		}
	}
}
