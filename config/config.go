// Package config is one run's configuration: every option, validated once
// before anything starts, from the command line and the job file.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/shard"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// Config is one run's configuration, validated once before anything starts.
// Its fields are set through Options, which say each one's flag, job-file
// key and help. It never holds credentials: those come from the AWS chain
// at run time.
type Config struct {
	Inputs       []string
	InputFormat  string
	Output       string
	OutputFormat string
	// ParquetRowGroupRows and ParquetRowGroupBytes bound a Parquet output
	// file's row groups.
	ParquetRowGroupRows, ParquetRowGroupBytes int64

	ModelID       string
	System        string // a prompt: kept out of the manifest
	MaxTokens     *int32
	Temperature   *float32
	TopP          *float32
	StopSequences []string
	// AdditionalFields is additionalModelRequestFields for every call, a
	// JSON object text; a record's own is merged over it.
	AdditionalFields string

	// The request: how records become Converse calls (issue 6).
	Stream           bool
	TemplateFile     string
	IDField          string
	PromptField      string
	DocumentFields   []string
	ImageFields      []string
	SystemFile       string
	CacheSystem      bool
	ServiceTier      string
	Latency          string
	Guardrail        string // ID:VERSION
	GuardrailTrace   bool
	JSONSchemaFile   string
	SchemaAttempts   int
	S3LocationModels []string
	// The route (issue 9): on-demand, batch-inference or auto.
	Route           string
	RoleARN         string
	Staging         string
	Deadline        string // a duration from the start, or an RFC 3339 time
	DeadlineMargin  time.Duration
	BatchMinRecords int
	BatchMaxRecords int
	BatchMaxBytes   int64
	BatchPoll       time.Duration
	// BatchResubmit gives the records of a job that failed or expired to
	// one new job instead of on-demand.
	BatchResubmit bool
	// ControlEndpoint overrides the Bedrock control-plane endpoint (batch
	// inference jobs); default AWS_ENDPOINT_URL_BEDROCK, else the region's.
	ControlEndpoint string
	// OutputStyle is "rows" (the tool's flat rows) or "bedrock-batch"
	// (Bedrock batch inference's output lines).
	OutputStyle string
	// Batch-inference jobs in locked-down accounts (issue 19): the job's
	// vpcConfig and tags, KEY=VALUE each.
	BatchSubnets        []string
	BatchSecurityGroups []string
	Tags                []string

	Concurrency       int
	RequestsPerMinute int
	TokensPerMinute   int
	// TokensPerDay is each model's daily token budget (0 = none).
	TokensPerDay int
	// Quotas are models' own quotas, over the defaults above.
	Quotas map[string]ModelQuota
	// Burndown overrides the burndown table: "PATTERN=N" each.
	Burndown []string
	// StopAfterErrors stops the run after this many calls in a row to one
	// model fail with the same non-retryable error (0 = never).
	StopAfterErrors int
	MaxAttempts     int
	RequestTimeout  time.Duration
	Grace           time.Duration

	Region          string
	BedrockEndpoint string
	S3Endpoint      string
	S3PathStyle     bool
	// S3 in locked-down accounts (issue 19): the server-side encryption
	// of every object write and its KMS key, and the account id every S3
	// call names as the bucket's owner.
	S3SSE               string
	S3KMSKeyID          string
	ExpectedBucketOwner string

	// Shard is this worker's part of the input when several workers split
	// it: records whose id hashes to Shard.Index of Shard.Count.
	Shard shard.Shard
	// RetryErrors sends records that have an error row again on resume.
	RetryErrors bool
	// AllowChangedOptions resumes into an output made with other answer
	// options.
	AllowChangedOptions bool
	// ProgressInterval is how often progress is logged off a terminal;
	// LogFormat is LogText or LogJSON.
	ProgressInterval time.Duration
	LogFormat        string
	// DryRun reads and checks the inputs and estimates cost and time
	// without calling the model (a command-line choice, not a job key).
	DryRun bool
	// Demo calls a built-in emulator instead of AWS.
	Demo bool
	// JobFile is the job file the options were read from, if any.
	JobFile string
	// Shards is the shard count of a Kubernetes Indexed Job, whose
	// JOB_COMPLETION_INDEX says which shard this is.
	Shards int
	// CountTokens counts input tokens exactly with Bedrock's CountTokens
	// instead of estimating them: a dry run's totals, a run's reservations.
	CountTokens bool
	// PricesFile overrides the shipped price table.
	PricesFile string

	// Issue 17: the account's own quotas. QuotaShare is the part of every
	// quota (given or read) this run uses; NoOnDemand keeps the
	// batch-inference routes from sending anything on demand;
	// ServiceQuotasEndpoint overrides where the quotas are read.
	QuotaShare            float64
	NoOnDemand            bool
	ServiceQuotasEndpoint string

	// Durability, data file sizes and one run per output shard (issue 15).
	// SyncInterval is the least time between two syncs of the journal (0:
	// the output's default, continuous locally and 250ms on S3);
	// PartRows and PartBytes size a data file; OutputGrace is how long a
	// failing output is tried again; Wait waits for a run holding the
	// output shard instead of exiting 5. Zero sizes and grace are the
	// defaults.
	SyncInterval time.Duration
	PartRows     int64
	PartBytes    int64
	OutputGrace  time.Duration
	Wait         bool
}

// Share is the part of every quota the run uses: QuotaShare, or all of it
// when that is unset (0).
func (c *Config) Share() float64 {
	if c.QuotaShare == 0 {
		return 1
	}
	return c.QuotaShare
}

// Log formats.
const (
	LogText = "text"
	LogJSON = "json"
)

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
	c.validateRequest(add)
	c.validateRoute(add)
	c.validateLockedDown(add)
	if c.Concurrency < 1 {
		add("--concurrency %d: must be at least 1", c.Concurrency)
	}
	if c.RequestsPerMinute < 0 {
		add("--rpm %d: must be 0 (no limit) or more", c.RequestsPerMinute)
	}
	if c.TokensPerMinute < 0 {
		add("--tpm %d: must be 0 (no limit) or more", c.TokensPerMinute)
	}
	if c.TokensPerDay < 0 {
		add("--tpd %d: must be 0 (no limit) or more", c.TokensPerDay)
	}
	for _, model := range c.QuotaModels() {
		if q := c.Quotas[model]; q.RequestsPerMinute < 0 || q.TokensPerMinute < 0 || q.TokensPerDay < 0 {
			add("quotas for %s: must be 0 (the default) or more", model)
		}
	}
	for _, b := range c.Burndown {
		if _, _, err := ratelimit.ParseBurndown(b); err != nil {
			add("--burndown %q: %v", b, err)
		}
	}
	if c.StopAfterErrors < 0 {
		add("--stop-after-errors %d: must be 0 (never) or more", c.StopAfterErrors)
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
	if c.SyncInterval < 0 {
		add("--sync-interval %s: may not be negative", c.SyncInterval)
	}
	if c.PartRows < 0 {
		add("--part-rows %d: must be at least 1 (0 = 1,000,000)", c.PartRows)
	}
	if c.PartBytes < 0 || (c.PartBytes > 0 && c.PartBytes < 1<<20) {
		add("--part-bytes %d: must be at least 1 MiB, 1048576 (0 = 256 MiB)", c.PartBytes)
	}
	if c.OutputGrace < 0 {
		add("--output-grace %s: may not be negative (0 = 2m)", c.OutputGrace)
	}
	if c.Grace < 0 {
		add("--grace %s: may not be negative", c.Grace)
	}
	if c.ParquetRowGroupRows < 0 || c.ParquetRowGroupBytes < 0 {
		add("--parquet-row-group-rows %d, --parquet-row-group-bytes %d: may not be negative", c.ParquetRowGroupRows, c.ParquetRowGroupBytes)
	}
	if c.ProgressInterval < 0 {
		add("--progress-interval %s: may not be negative", c.ProgressInterval)
	}
	switch c.LogFormat {
	case "", LogText, LogJSON:
	default:
		add("--log-format %q: want text or json", c.LogFormat)
	}
	if c.QuotaShare < 0 || c.QuotaShare > 1 {
		add("--quota-share %g: want a fraction above 0 and at most 1", c.QuotaShare)
	}
	if len(problems) == 0 {
		return nil
	}
	return &ConfigError{Problems: problems}
}

// Output styles.
const (
	StyleRows         = "rows"
	StyleBedrockBatch = "bedrock-batch"
)

// validateRequest checks the options that shape each Converse call.
func (c *Config) validateRequest(add func(string, ...any)) {
	switch c.ServiceTier {
	case "", "default", "priority", "flex", "reserved":
	default:
		add("--service-tier %q: want default, priority, flex or reserved", c.ServiceTier)
	}
	switch c.Latency {
	case "", "standard", "optimized":
	default:
		add("--latency %q: want standard or optimized", c.Latency)
	}
	if c.Guardrail != "" {
		if _, _, err := ParseGuardrail(c.Guardrail); err != nil {
			add("--guardrail %q: %v", c.Guardrail, err)
		}
	}
	if c.System != "" && c.SystemFile != "" {
		add("--system and --system-file are both given; use one")
	}
	if c.SchemaAttempts < 0 {
		add("--schema-attempts %d: must be at least 1 (0 = the default, 3)", c.SchemaAttempts)
	}
	if c.AdditionalFields != "" {
		var obj map[string]any
		if err := json.Unmarshal([]byte(c.AdditionalFields), &obj); err != nil || obj == nil {
			add("--additional-fields: must be a JSON object, such as {\"top_k\": 50}")
		}
	}
	switch c.OutputStyle {
	case "", StyleRows:
	case StyleBedrockBatch:
		if c.OutputFormat != FormatJSONL {
			add("--output-style bedrock-batch writes JSONL: give --output-format jsonl")
		}
	default:
		add("--output-style %q: want rows or bedrock-batch", c.OutputStyle)
	}
}

// guardrailID is the pattern Bedrock checks a guardrail identifier against.
var guardrailID = regexp.MustCompile(`^(([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))$`)

// Routes.
const (
	RouteOnDemand       = writer.RouteOnDemand
	RouteBatchInference = writer.RouteBatchInference
	RouteAuto           = "auto" // batch inference, kept to a deadline
)

// validateRoute checks the batch-inference options.
func (c *Config) validateRoute(add func(string, ...any)) {
	switch c.Route {
	case "", RouteOnDemand:
		return
	case RouteBatchInference, RouteAuto:
	default:
		add("--route %q: want on-demand, batch-inference or auto", c.Route)
		return
	}
	if c.RoleARN == "" {
		add("--route %s needs --role-arn: the service role Bedrock batch inference runs as", c.Route)
	}
	if !strings.HasPrefix(c.Staging, "s3://") {
		add("--route %s needs --staging s3://bucket/prefix/: where job inputs and outputs live", c.Route)
	}
	if c.JSONSchemaFile != "" {
		add("--json-schema needs --route on-demand: Bedrock batch inference jobs cannot use tools, which structured output needs")
	}
	if c.Route == RouteAuto && c.Deadline == "" {
		add("--route auto needs --deadline (a duration such as 6h, or a time such as 2026-11-26T06:00:00Z)")
	}
	if c.Deadline != "" {
		if _, err := ParseDeadline(c.Deadline, time.Now()); err != nil {
			add("--deadline %q: %v", c.Deadline, err)
		}
	}
	if c.BatchMinRecords < 0 || c.BatchMaxRecords < 0 || (c.BatchMaxRecords > 0 && c.BatchMinRecords > c.BatchMaxRecords) {
		add("--batch-min-records %d, --batch-max-records %d: want 0 <= min <= max", c.BatchMinRecords, c.BatchMaxRecords)
	}
}

// ParseDeadline reads a deadline: a duration from start ("6h") or a time
// ("2026-11-26T06:00:00Z").
func ParseDeadline(s string, start time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, errors.New("want a positive duration")
		}
		return start.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("want a duration such as 6h or an RFC 3339 time such as 2026-11-26T06:00:00Z")
	}
	return t, nil
}

// ParseGuardrail splits "ID:VERSION" (VERSION a number or DRAFT). The
// identifier may be an ARN, which has colons of its own: the version is
// after the last one.
func ParseGuardrail(s string) (id, version string, err error) {
	i := strings.LastIndex(s, ":")
	if i <= 0 || i == len(s)-1 {
		return "", "", errors.New("want ID:VERSION, such as gr-abc123:1 or gr-abc123:DRAFT")
	}
	id, version = s[:i], s[i+1:]
	if !guardrailID.MatchString(id) {
		return "", "", fmt.Errorf("identifier %q: want the guardrail's id (lower-case letters and digits, such as 4ru8sc2dxyz3) or its ARN", id)
	}
	if version != "DRAFT" && strings.Trim(version, "0123456789") != "" {
		return "", "", fmt.Errorf("version %q: want a number or DRAFT", version)
	}
	return id, version, nil
}

// ConfigError lists what is wrong with a configuration.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string { return strings.Join(e.Problems, "\n") }

// IsConfigError reports whether err is a *ConfigError.
func IsConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}
