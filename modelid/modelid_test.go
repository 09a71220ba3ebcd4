package modelid

import (
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in        string
		geography string
		model     string
		arn       bool
	}{
		{"anthropic.claude-3-haiku-20240307-v1:0", "", "anthropic.claude-3-haiku-20240307-v1:0", false},
		{"us.anthropic.claude-sonnet-4-20250514-v1:0", "us", "anthropic.claude-sonnet-4-20250514-v1:0", false},
		{"global.anthropic.claude-sonnet-4-5-20250929-v1:0", "global", "anthropic.claude-sonnet-4-5-20250929-v1:0", false},
		{"us-gov.anthropic.claude-3-haiku-20240307-v1:0", "us-gov", "anthropic.claude-3-haiku-20240307-v1:0", false},
		{"apac.amazon.nova-lite-v1:0", "apac", "amazon.nova-lite-v1:0", false},
		{"amazon.nova-pro-v1:0", "", "amazon.nova-pro-v1:0", false},
		{"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0", "", "anthropic.claude-3-haiku-20240307-v1:0", true},
		{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0", "us", "anthropic.claude-sonnet-4-20250514-v1:0", true},
		{"demo.echo-v1", "", "demo.echo-v1", false},
		{"", "", "", false},
	} {
		got := Parse(tt.in)
		if got.Geography != tt.geography || got.Model != tt.model || got.ARN != tt.arn || got.Profile() != (tt.geography != "") {
			t.Errorf("Parse(%q) = %+v; want geography %q, model %q, arn %v", tt.in, got, tt.geography, tt.model, tt.arn)
		}
	}
}

func TestForms(t *testing.T) {
	for in, want := range map[string][]string{
		"US.Anthropic.Claude-X-v1:0": {"us.anthropic.claude-x-v1:0", "anthropic.claude-x-v1:0"},
		"anthropic.claude-x-v1:0":    {"anthropic.claude-x-v1:0"},
		"arn:aws:bedrock:us-east-1:1:inference-profile/eu.amazon.nova-lite-v1:0": {
			"arn:aws:bedrock:us-east-1:1:inference-profile/eu.amazon.nova-lite-v1:0", "eu.amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"},
	} {
		if got := Forms(in); !slices.Equal(got, want) {
			t.Errorf("Forms(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, model string
		want           bool
	}{
		{"anthropic.claude-sonnet-4*", "us.anthropic.claude-sonnet-4-20250514-v1:0", true},
		{"us.anthropic.claude-sonnet-4*", "eu.anthropic.claude-sonnet-4-20250514-v1:0", false},
		{"amazon.nova-*", "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0", true},
		{"*claude-3-7-sonnet*", "global.anthropic.claude-3-7-sonnet-20250219-v1:0", true},
		{"anthropic.*", "amazon.nova-pro-v1:0", false},
		{"*", "anything", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	} {
		if got := Match(tt.pattern, tt.model); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.model, got, tt.want)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"a*", "abc", true},
		{"*c", "abc", true},
		{"a*c", "abbbc", true},
		{"a*b*c", "axbyc", true},
		{"a*b*c", "axbyd", false},
		{"abc", "abcd", false},
		{"anthropic.claude-4*", "anthropic.claude-4-opus", true},
		{"anthropic.claude-4*", "anthropic.claude-3-haiku", false},
		{"a?c", "abc", false}, // only * is special
	}
	for _, tt := range tests {
		if got := Glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}

func TestGlobPriceTable(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"a.b-*", "a.b-1:0", true},
		{"a.b-*", "a.b-", true},
		{"a.b-*", "a.c-1", false},
		{"a.b", "a.b", true},
		{"a.b", "a.bc", false},
		{"*", "", true},
		{"*-v1:0", "x.y-v1:0", true},
		{"a*b*c", "axxbyybzc", true},
		{"a*b*c", "axxbyybz", false},
		{"a**b", "ab", true},
		{"", "", true},
		{"", "a", false},
	}
	for _, tt := range tests {
		if got := Glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
