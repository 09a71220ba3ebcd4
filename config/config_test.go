package config

import (
	"strings"
	"testing"
	"time"
)

func validConfig() Config {
	return Config{Inputs: []string{"in.jsonl"}, Output: "out", OutputFormat: FormatJSONL, ModelID: "m",
		Concurrency: 4, MaxAttempts: 3, RequestTimeout: time.Minute}
}

func TestValidate(t *testing.T) {
	f := func(v float32) *float32 { return &v }
	i := func(v int32) *int32 { return &v }
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // phrases the error must hold; none = valid
	}{
		{"valid", func(*Config) {}, nil},
		{"temperature zero is valid", func(c *Config) { c.Temperature = f(0) }, nil},
		{"nothing given", func(c *Config) { *c = Config{} }, []string{"no input", "no output", "no model", "--concurrency", "--max-attempts", "--output-format"}},
		{"bad formats", func(c *Config) { c.InputFormat = "csv"; c.OutputFormat = "xml" }, []string{`"csv"`, `"xml"`}},
		{"bad inference", func(c *Config) {
			c.MaxTokens = i(0)
			c.Temperature = f(1.5)
			c.TopP = f(-1)
			c.StopSequences = []string{""}
		},
			[]string{"--max-tokens 0", "--temperature 1.5", "--top-p -1", "stop sequence"}},
		{"bad pacing", func(c *Config) { c.RequestsPerMinute = -1; c.RequestTimeout = 0; c.Grace = -time.Second },
			[]string{"--rpm", "--request-timeout", "--grace"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkValidate(t, tt.change, tt.want) })
	}
}

// checkValidate validates validConfig changed by change: with no want, it
// must be valid; else its ConfigError must hold every phrase of want.
func checkValidate(t *testing.T, change func(*Config), want []string) {
	t.Helper()
	c := validConfig()
	change(&c)
	err := c.Validate()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil || !IsConfigError(err) {
		t.Fatalf("error %v, want a ConfigError", err)
	}
	for _, phrase := range want {
		if !strings.Contains(err.Error(), phrase) {
			t.Errorf("error does not mention %q:\n%v", phrase, err)
		}
	}
}

func TestValidateRoute(t *testing.T) {
	base := func() Config {
		return Config{Inputs: []string{"in.jsonl"}, Output: "out", OutputFormat: FormatJSONL, ModelID: "m",
			Concurrency: 1, MaxAttempts: 1, RequestTimeout: time.Second}
	}
	tests := []struct {
		name string
		set  func(*Config)
		want string // "" when valid
	}{
		{"on demand needs nothing", func(c *Config) { c.Route = RouteOnDemand }, ""},
		{"batch inference with role and staging", func(c *Config) {
			c.Route, c.RoleARN, c.Staging = RouteBatchInference, "arn:aws:iam::1:role/r", "s3://b/p/"
		}, ""},
		{"no role", func(c *Config) { c.Route, c.Staging = RouteBatchInference, "s3://b/p/" }, "--role-arn"},
		{"staging not on S3", func(c *Config) { c.Route, c.RoleARN, c.Staging = RouteBatchInference, "r", "/tmp/x" }, "--staging"},
		{"auto without a deadline", func(c *Config) { c.Route, c.RoleARN, c.Staging = RouteAuto, "r", "s3://b/" }, "--deadline"},
		{"a bad deadline", func(c *Config) {
			c.Route, c.RoleARN, c.Staging, c.Deadline = RouteAuto, "r", "s3://b/", "tomorrow"
		}, "--deadline"},
		{"structured output cannot go to batch jobs", func(c *Config) {
			c.Route, c.RoleARN, c.Staging, c.JSONSchemaFile = RouteBatchInference, "r", "s3://b/", "s.json"
		}, "--json-schema"},
		{"unknown route", func(c *Config) { c.Route = "cheap" }, "--route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.set(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one about %s", err, tt.want)
			}
		})
	}
}
