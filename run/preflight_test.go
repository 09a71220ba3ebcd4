package run

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
)

func TestPreflight(t *testing.T) {
	f32 := func(v float32) *float32 { return &v }
	i32 := func(v int32) *int32 { return &v }
	tests := []struct {
		name     string
		cfg      config.Config
		model    string
		problems []string // substrings, one per problem
		notes    int
	}{
		{"base id needs a profile", config.Config{}, "anthropic.claude-sonnet-4-20250514-v1:0", []string{"inference profile"}, 0},
		{"profile is fine", config.Config{MaxTokens: i32(1000)}, "us.anthropic.claude-sonnet-4-20250514-v1:0", nil, 0},
		{"ARN is fine", config.Config{}, "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0", nil, 0},
		{"temperature and top_p", config.Config{Temperature: f32(0.2), TopP: f32(0.9)}, "global.anthropic.claude-sonnet-4-5-20250929-v1:0", []string{"not both"}, 0},
		{"temperature alone", config.Config{Temperature: f32(0.2)}, "global.anthropic.claude-sonnet-4-5-20250929-v1:0", nil, 0},
		{"max tokens above the maximum", config.Config{MaxTokens: i32(10000)}, "anthropic.claude-3-haiku-20240307-v1:0", []string{"maximum output of 4096"}, 0},
		{"both problems", config.Config{MaxTokens: i32(100000)}, "anthropic.claude-3-7-sonnet-20250219-v1:0", []string{"inference profile", "maximum output"}, 0},
		{"older model on demand", config.Config{MaxTokens: i32(4096)}, "amazon.nova-lite-v1:0", nil, 0},
		{"unknown model passes with a note", config.Config{MaxTokens: i32(999999)}, "acme.wonder-v1:0", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems, notes := Preflight(&tt.cfg, []string{tt.model})
			if len(problems) != len(tt.problems) || len(notes) != tt.notes {
				t.Fatalf("problems %q notes %q", problems, notes)
			}
			for i, want := range tt.problems {
				if !strings.Contains(problems[i], want) || !strings.Contains(problems[i], tt.model) {
					t.Errorf("problem %q does not say %q about %s", problems[i], want, tt.model)
				}
			}
		})
	}
	if got := modelRules(); !reflect.DeepEqual(got[0].OneOf, []string{"temperature", "top_p"}) {
		t.Errorf("rules table: %+v", got[0])
	}
}

// TestConfigDefaultsAreThePipelines: the option table's defaults are the
// pipeline's own, so a run from flags and a run from a test agree.
func TestConfigDefaultsAreThePipelines(t *testing.T) {
	c := config.Defaults()
	if c.MaxAttempts != pipeline.DefaultRetry.MaxAttempts || c.RequestTimeout != pipeline.DefaultRetry.AttemptTimeout ||
		c.StopAfterErrors != pipeline.DefaultStopAfterErrors {
		t.Errorf("config defaults: max-attempts %d, request-timeout %s, stop-after-errors %d; the pipeline's: %d, %s, %d",
			c.MaxAttempts, c.RequestTimeout, c.StopAfterErrors,
			pipeline.DefaultRetry.MaxAttempts, pipeline.DefaultRetry.AttemptTimeout, pipeline.DefaultStopAfterErrors)
	}
}
