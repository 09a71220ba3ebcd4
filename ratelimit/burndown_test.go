package ratelimit

import (
	"strings"
	"testing"
)

func TestBurndownFactor(t *testing.T) {
	overridden := DefaultBurndown().
		With("amazon.nova-pro*", 2).
		With("*sonnet-4-5*", 1). // later overrides come first
		With("arn:aws:bedrock:*:application-inference-profile/abc*", 5).
		With("anthropic.claude-sonnet-4-5*", 3)
	tests := []struct {
		table BurndownTable
		model string
		want  float64
	}{
		{BurndownTable{}, "anthropic.claude-3-7-sonnet-20250219-v1:0", 5},
		{BurndownTable{}, "us.anthropic.claude-3-7-sonnet-20250219-v1:0", 5},
		{BurndownTable{}, "eu.anthropic.claude-sonnet-4-20250514-v1:0", 5},
		{BurndownTable{}, "global.anthropic.claude-sonnet-4-5-20250929-v1:0", 5},
		{BurndownTable{}, "apac.anthropic.claude-opus-4-1-20250805-v1:0", 5},
		{BurndownTable{}, "us-gov.anthropic.claude-haiku-4-5-20251001-v1:0", 5},
		{BurndownTable{}, "jp.anthropic.claude-4-opus-v1:0", 5},
		{BurndownTable{}, "US.Anthropic.Claude-Sonnet-4-20250514-v1:0", 5},
		{BurndownTable{}, "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-20250514-v1:0", 5},
		{BurndownTable{}, "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0", 5},
		{BurndownTable{}, "anthropic.claude-3-5-sonnet-20241022-v2:0", 1},
		{BurndownTable{}, "anthropic.claude-3-haiku-20240307-v1:0", 1},
		{BurndownTable{}, "us.amazon.nova-pro-v1:0", 1},
		{BurndownTable{}, "meta.llama3-3-70b-instruct-v1:0", 1},
		{BurndownTable{}, "global.anthropic.claude-opus-4-8", 15},
		{BurndownTable{}, "anthropic.claude-opus-4-7", 5},
		{BurndownTable{}, "us.anthropic.claude-opus-4-6-v1", 5},
		{BurndownTable{}, "us.anthropic.claude-sonnet-4-6", 5},
		{BurndownTable{}, "eu.anthropic.claude-sonnet-5", 10},
		{BurndownTable{}, "global.anthropic.claude-sonnet-5-5", 10},
		{BurndownTable{}, "jp.anthropic.claude-opus-5-5", 10},
		{BurndownTable{}, "us.anthropic.claude-haiku-5-5", 10},
		{BurndownTable{}, "us.anthropic.claude-fable-5-1", 10},
		{BurndownTable{}, "us.openai.gpt-5.6-terra", 10},
		{BurndownTable{}, "global.openai.gpt-6-astra", 10},
		{BurndownTable{}, "openai.gpt-oss-120b-1:0", 1},
		{BurndownTable{}, "global.amazon.nova-2-lite-v1:0", 1},
		{BurndownTable{}, "us.meta.llama4-maverick-17b-instruct-v1:0", 1},
		{BurndownTable{}, "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123", 1},
		{BurndownTable{}, "", 1},
		{overridden, "us.amazon.nova-pro-v1:0", 2},
		{overridden, "amazon.nova-lite-v1:0", 1},
		{overridden, "global.anthropic.claude-sonnet-4-5-20250929-v1:0", 3},
		{overridden, "us.anthropic.claude-3-7-sonnet-20250219-v1:0", 5},
		{overridden, "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123", 5},
		{DefaultBurndown().With("*", 1), "anthropic.claude-opus-4-20250514-v1:0", 1},
	}
	for _, tt := range tests {
		if got := tt.table.Factor(tt.model); got != tt.want {
			t.Errorf("Factor(%q) = %v, want %v (table %v)", tt.model, got, tt.want, tt.table)
		}
	}
	if len(DefaultBurndown().Rules()) == 0 || DefaultBurndown().Rules()[0].Note == "" {
		t.Error("the built-in table is empty or has no notes")
	}
	if got := overridden.String(); !strings.HasPrefix(got, "anthropic.claude-sonnet-4-5*=3, arn:") {
		t.Errorf("String() = %s", got)
	}
}

func TestParseBurndown(t *testing.T) {
	tests := []struct {
		in      string
		pattern string
		factor  float64
		ok      bool
	}{
		{"anthropic.claude-sonnet-4*=5", "anthropic.claude-sonnet-4*", 5, true},
		{" us.amazon.nova-pro* = 1.5 ", "us.amazon.nova-pro*", 1.5, true},
		{"=5", "", 0, false},
		{"anthropic.claude*", "", 0, false},
		{"x=0", "", 0, false},
		{"x=-1", "", 0, false},
		{"x=five", "", 0, false},
		{"x=NaN", "", 0, false},
		{"x=Inf", "", 0, false},
	}
	for _, tt := range tests {
		pattern, factor, err := ParseBurndown(tt.in)
		if (err == nil) != tt.ok || pattern != tt.pattern || factor != tt.factor {
			t.Errorf("ParseBurndown(%q) = %q, %v, %v", tt.in, pattern, factor, err)
		}
	}
}

func TestDefaultMaxOutput(t *testing.T) {
	tests := []struct {
		model string
		want  int64
	}{
		{"us.anthropic.claude-sonnet-4-20250514-v1:0", 64000},
		{"anthropic.claude-opus-4-20250514-v1:0", 32000},
		{"anthropic.claude-opus-4-1-20250805-v1:0", 32000},
		{"global.anthropic.claude-sonnet-4-5-20250929-v1:0", 64000},
		{"anthropic.claude-3-7-sonnet-20250219-v1:0", 64000},
		{"anthropic.claude-3-5-sonnet-20240620-v1:0", 8192},
		{"us.anthropic.claude-3-5-haiku-20241022-v1:0", 8192},
		{"anthropic.claude-3-haiku-20240307-v1:0", 4096},
		{"eu.amazon.nova-pro-v1:0", 10000},
		{"amazon.nova-micro-v1:0", 10000},
		{"us.meta.llama3-1-70b-instruct-v1:0", 2048},
		{"mistral.mistral-large-2407-v1:0", 8192},
		{"arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0", 10000},
		{"global.anthropic.claude-opus-5-5", 128000},
		{"us.anthropic.claude-sonnet-5-5", 128000},
		{"anthropic.claude-sonnet-5", 128000},
		{"us.anthropic.claude-haiku-5-5", 128000},
		{"us.anthropic.claude-fable-5-1", 128000},
		{"global.anthropic.claude-opus-4-8", 128000},
		{"anthropic.claude-opus-4-7", 128000},
		{"eu.anthropic.claude-opus-4-6-v1", 128000},
		{"global.anthropic.claude-opus-4-5-20251101-v1:0", 64000},
		{"us.anthropic.claude-sonnet-4-6", 128000},
		{"us.anthropic.claude-haiku-4-5-20251001-v1:0", 64000},
		{"anthropic.claude-opus-4-9", 128000},
		{"global.amazon.nova-2-lite-v1:0", 65536},
		{"us.meta.llama4-scout-17b-instruct-v1:0", 8192},
		{"mistral.mistral-large-3-675b-instruct", 262144},
		{"somebody.new-model-v1:0", 4096},
	}
	for _, tt := range tests {
		if got := DefaultMaxOutput(tt.model); got != tt.want {
			t.Errorf("DefaultMaxOutput(%q) = %d, want %d", tt.model, got, tt.want)
		}
	}
}

func TestMaxTokensCost(t *testing.T) {
	tests := []struct {
		quota     Quota
		maxTokens int64
		want      int64
	}{
		{Quota{TokensPerMinute: 2_000_000}, 64000, 31},
		{Quota{TokensPerMinute: 2_000_000}, 1500, 1333},
		{Quota{TokensPerMinute: 50_000}, 64000, 0},
		{Quota{RequestsPerMinute: 100}, 64000, -1},
		{Quota{TokensPerMinute: 2_000_000}, 0, -1},
	}
	for _, tt := range tests {
		if got := MaxTokensCost(tt.quota, tt.maxTokens); got != tt.want {
			t.Errorf("MaxTokensCost(%v, %d) = %d, want %d", tt.quota, tt.maxTokens, got, tt.want)
		}
	}
}

// TestGlobPriceTable: the price table's patterns, matched the same way.
