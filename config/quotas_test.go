package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestSetQuota(t *testing.T) {
	var c Config
	for _, set := range [][2]string{{"tpm", "100000"}, {"rpm", "50"}, {"tpd", "1_000_000"},
		{"tpm", "us.anthropic.claude-sonnet-4-20250514-v1:0=200000"}, {"tpd", "us.anthropic.claude-sonnet-4-20250514-v1:0=9"},
		{"rpm", "amazon.nova-pro-v1:0=7"}} {
		if err := c.SetQuota(set[0], set[1]); err != nil {
			t.Fatal(err)
		}
	}
	if c.TokensPerMinute != 100000 || c.RequestsPerMinute != 50 || c.TokensPerDay != 1000000 {
		t.Errorf("defaults %d %d %d", c.TokensPerMinute, c.RequestsPerMinute, c.TokensPerDay)
	}
	tests := []struct {
		model string
		want  ModelQuota
	}{
		{"us.anthropic.claude-sonnet-4-20250514-v1:0", ModelQuota{RequestsPerMinute: 50, TokensPerMinute: 200000, TokensPerDay: 9}},
		{"amazon.nova-pro-v1:0", ModelQuota{RequestsPerMinute: 7, TokensPerMinute: 100000, TokensPerDay: 1000000}},
		{"other", ModelQuota{RequestsPerMinute: 50, TokensPerMinute: 100000, TokensPerDay: 1000000}},
	}
	for _, tt := range tests {
		if got := c.QuotaFor(tt.model); got != tt.want {
			t.Errorf("QuotaFor(%s) = %+v, want %+v", tt.model, got, tt.want)
		}
	}
	if got := c.QuotaModels(); !reflect.DeepEqual(got, []string{"amazon.nova-pro-v1:0", "us.anthropic.claude-sonnet-4-20250514-v1:0"}) {
		t.Errorf("QuotaModels %v", got)
	}
	for _, bad := range []string{"lots", "-1", "=5", "m=x"} {
		if err := c.SetQuota("tpm", bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("SetQuota(tpm, %q) = %v", bad, err)
		}
	}
}

func TestJobFileQuotasErrors(t *testing.T) {
	var c Config
	_, err := parseJobFile("job.yaml", []byte("quotas:\n  m1: {tpm: lots}\n  m2: {tpx: 1}\n  m3: 7\n"), env(nil), &c)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"job.yaml:2: quotas.m1.tpm: want an integer", `job.yaml:3: quotas: m2: unknown key "tpx"`, "job.yaml:4: quotas: m3: want {rpm: N, tpm: N, tpd: N}"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
