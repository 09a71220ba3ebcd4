// Package jobs owns what makes a run a job: its validated configuration and
// the manifest that records what it did.
package jobs

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is one run's configuration, validated once before anything starts.
// It never holds credentials: those come from the AWS chain at run time.
type Config struct {
	Inputs       []string `json:"inputs"`
	InputFormat  string   `json:"input_format,omitempty"`
	Output       string   `json:"output"`
	OutputFormat string   `json:"output_format"`

	ModelID       string   `json:"model_id"`
	System        string   `json:"-"` // a prompt: kept out of the manifest
	MaxTokens     *int32   `json:"max_tokens,omitempty"`
	Temperature   *float32 `json:"temperature,omitempty"`
	TopP          *float32 `json:"top_p,omitempty"`
	StopSequences []string `json:"stop_sequences,omitempty"`

	Concurrency       int           `json:"concurrency"`
	RequestsPerMinute int           `json:"requests_per_minute,omitempty"`
	TokensPerMinute   int           `json:"tokens_per_minute,omitempty"`
	MaxAttempts       int           `json:"max_attempts"`
	RequestTimeout    time.Duration `json:"request_timeout"`
	Grace             time.Duration `json:"grace"`
	CommitInterval    time.Duration `json:"commit_interval"`

	Region          string `json:"region,omitempty"`
	BedrockEndpoint string `json:"bedrock_endpoint,omitempty"`
	S3Endpoint      string `json:"s3_endpoint,omitempty"`
	S3PathStyle     bool   `json:"s3_path_style,omitempty"`

	// Shard is this worker's part of the input when several workers split
	// it: records whose id hashes to Shard.Index of Shard.Count.
	Shard Shard `json:"shard"`
	// RetryErrors sends records that have an error row again on resume.
	RetryErrors bool `json:"retry_errors,omitempty"`
	// DryRun reads and checks the inputs and estimates cost and time
	// without calling the model (a command-line choice, not a job key).
	DryRun bool `json:"-"`
	// CountTokens makes a dry run count input tokens exactly with
	// Bedrock's CountTokens instead of estimating them.
	CountTokens bool `json:"-"`
	// PricesFile overrides the shipped price table.
	PricesFile string `json:"prices_file,omitempty"`
}

// Shard is one part of a sharded job; Count 0 or 1 means not sharded.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Output formats.
const (
	FormatJSONL   = "jsonl"
	FormatParquet = "parquet"
)

// Validate reports every problem with the configuration at once, so a user
// fixes a job file in one go.
func (c *Config) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(c.Inputs) == 0 {
		add("no input: give --input PATH (a file or a glob; repeatable)")
	}
	switch c.InputFormat {
	case "", FormatJSONL, FormatParquet:
	default:
		add("--input-format %q: want jsonl or parquet", c.InputFormat)
	}
	if c.Output == "" {
		add("no output: give --output DIR")
	}
	switch c.OutputFormat {
	case FormatJSONL, FormatParquet:
	default:
		add("--output-format %q: want jsonl or parquet", c.OutputFormat)
	}
	if strings.TrimSpace(c.ModelID) == "" {
		add("no model: give --model MODEL_ID (for example anthropic.claude-3-haiku-20240307-v1:0)")
	}
	if c.MaxTokens != nil && *c.MaxTokens < 1 {
		add("--max-tokens %d: must be at least 1", *c.MaxTokens)
	}
	if c.Temperature != nil && (*c.Temperature < 0 || *c.Temperature > 1) {
		add("--temperature %g: must be between 0 and 1", *c.Temperature)
	}
	if c.TopP != nil && (*c.TopP < 0 || *c.TopP > 1) {
		add("--top-p %g: must be between 0 and 1", *c.TopP)
	}
	for _, s := range c.StopSequences {
		if s == "" {
			add("--stop: a stop sequence may not be empty")
		}
	}
	if c.Concurrency < 1 {
		add("--concurrency %d: must be at least 1", c.Concurrency)
	}
	if c.RequestsPerMinute < 0 {
		add("--rpm %d: must be 0 (no limit) or more", c.RequestsPerMinute)
	}
	if c.TokensPerMinute < 0 {
		add("--tpm %d: must be 0 (no limit) or more", c.TokensPerMinute)
	}
	if c.MaxAttempts < 1 {
		add("--max-attempts %d: must be at least 1", c.MaxAttempts)
	}
	if c.RequestTimeout <= 0 {
		add("--request-timeout %s: must be positive", c.RequestTimeout)
	}
	if c.Shard.Count < 0 || c.Shard.Index < 0 || (c.Shard.Count > 0 && c.Shard.Index >= c.Shard.Count) {
		add("--shard %d/%d: want I/N with 0 <= I < N", c.Shard.Index, c.Shard.Count)
	}
	if c.CommitInterval < 0 {
		add("--commit-interval %s: may not be negative", c.CommitInterval)
	}
	if c.Grace < 0 {
		add("--grace %s: may not be negative", c.Grace)
	}
	if len(problems) == 0 {
		return nil
	}
	return &ConfigError{Problems: problems}
}

// ConfigError lists what is wrong with a configuration.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string { return strings.Join(e.Problems, "\n") }

// IsConfigError reports whether err is a *ConfigError.
func IsConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}
