package run

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/writer"
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
		{"sampling refused", config.Config{Temperature: f32(0.2), TopP: f32(0.9)}, "us.anthropic.claude-sonnet-5", []string{"refuses --temperature and --top-p"}, 0},
		{"top_p refused", config.Config{TopP: f32(0.9)}, "global.anthropic.claude-opus-5-5", []string{"refuses --top-p"}, 0},
		{"current model without sampling options", config.Config{MaxTokens: i32(128000)}, "global.anthropic.claude-haiku-5-5", nil, 0},
		{"Opus 5.5 base id needs a profile", config.Config{}, "anthropic.claude-opus-5-5", []string{"inference profile"}, 0},
		{"Nova 2 Lite base id needs a profile", config.Config{}, "amazon.nova-2-lite-v1:0", []string{"inference profile"}, 0},
		{"GPT-5.6 base id needs a profile", config.Config{}, "openai.gpt-5.6-luna", []string{"inference profile"}, 0},
		{"Opus 4.7 base id answers on demand", config.Config{MaxTokens: i32(128000)}, "anthropic.claude-opus-4-7", nil, 0},
		{"max tokens above a current model's maximum", config.Config{MaxTokens: i32(200000)}, "us.anthropic.claude-sonnet-5-5", []string{"maximum output of 128000"}, 0},
		{"retired model still checked", config.Config{MaxTokens: i32(9000)}, "us.anthropic.claude-3-5-haiku-20241022-v1:0", []string{"maximum output of 8192"}, 0},
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
	if got, _ := ruleFor("global.anthropic.claude-sonnet-4-5-20250929-v1:0"); !reflect.DeepEqual(got.OneOf, []string{"temperature", "top_p"}) {
		t.Errorf("rules table: %+v", got)
	}
}

// TestShippedModelRules checks every row of modelrules.json: a note, a
// source and the date it was checked; parameters it names are ones
// Preflight knows; and no row is hidden behind an earlier, more general
// one.
func TestShippedModelRules(t *testing.T) {
	rules := modelRules()
	if len(rules) < 20 {
		t.Fatalf("%d rules: want the shipped table", len(rules))
	}
	known := map[string]bool{"temperature": true, "top_p": true}
	for i, r := range rules {
		if r.Note == "" || r.Source == "" {
			t.Errorf("%s: note %q, source %q: want both", r.Pattern, r.Note, r.Source)
		}
		if at, err := time.Parse(time.DateOnly, r.AsOf); err != nil || at.After(time.Now()) {
			t.Errorf("%s: as_of %q: want a past date, YYYY-MM-DD", r.Pattern, r.AsOf)
		}
		for _, param := range append(append([]string(nil), r.OneOf...), r.Rejects...) {
			if !known[param] {
				t.Errorf("%s: parameter %q is not one Preflight checks", r.Pattern, param)
			}
		}
		if first, _ := ruleFor(strings.ReplaceAll(r.Pattern, "*", "")); first.Pattern != r.Pattern {
			t.Errorf("%s (row %d) is hidden behind %s", r.Pattern, i, first.Pattern)
		}
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
	if c.ParquetRowGroupRows != writer.DefaultRowGroupRows || c.ParquetRowGroupBytes != writer.DefaultRowGroupBytes {
		t.Errorf("config's Parquet row group defaults %d rows, %d bytes; the writer's %d, %d",
			c.ParquetRowGroupRows, c.ParquetRowGroupBytes, writer.DefaultRowGroupRows, writer.DefaultRowGroupBytes)
	}
}
