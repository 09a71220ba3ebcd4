package config

// Option is one option of `batch run`, declared once: its name is the flag
// (--name) and the job file's key, Field says which Config field it sets,
// and Arg, Help and Default make its help line. Flags, job-file keys, help
// and the options recorded in the manifest are all made from Options, so
// none can drift from another.
type Option struct {
	Name string
	// Arg names the option's value in the help ("N", "FILE"); "" for a
	// switch.
	Arg  string
	Help string
	// Group is the section of the help the option is listed in.
	Group string
	// Default is the value before the job file and the flags, as text.
	Default string
	// Field returns a pointer to the Config field the option sets.
	Field func(c *Config) any
	// Set, when not nil, parses a value instead of the field's type.
	Set func(c *Config, value string) error
	// FlagOnly options are not job-file keys (the job file itself, a dry
	// run, the demo); FileOnly ones have no flag (a structured value).
	FlagOnly, FileOnly bool
	// Secret options (prompts) are left out of the manifest.
	Secret bool
}

// Help sections, in the order the help lists them.
const (
	GroupInputOutput = "Input and output"
	GroupRequest     = "The request"
	GroupQuota       = "Quotas and pacing"
	GroupRetries     = "Retries, stopping and durability"
	GroupJob         = "Resume, shards and cost"
	GroupRoute       = "Routes: batch inference"
	GroupAWS         = "AWS"
	GroupLogs        = "Progress and logs"
)

// Groups lists the help sections in order.
var Groups = []string{GroupInputOutput, GroupRequest, GroupQuota, GroupRetries, GroupJob, GroupRoute, GroupAWS, GroupLogs}

// Options are every option of `batch run`.
var Options = []Option{
	{Name: "job", Arg: "FILE", Group: GroupInputOutput, FlagOnly: true,
		Help:  "job file (YAML or JSON) with any of these options, keyed by their names; flags given here override it",
		Field: func(c *Config) any { return &c.JobFile }},
	{Name: "input", Arg: "PATH", Group: GroupInputOutput,
		Help:  "input file or glob, local or s3://: .jsonl, .ndjson, .jsonl.gz, .ndjson.gz or .parquet (repeatable; extra arguments are inputs too)",
		Field: func(c *Config) any { return &c.Inputs }},
	{Name: "input-format", Arg: "FORMAT", Group: GroupInputOutput,
		Help:  "input format when the extension does not say: jsonl or parquet",
		Field: func(c *Config) any { return &c.InputFormat }},
	{Name: "output", Arg: "DIR", Group: GroupInputOutput,
		Help:  "output directory or s3://bucket/prefix/ for data files and _manifest.json; a re-run into the same output resumes",
		Field: func(c *Config) any { return &c.Output }},
	{Name: "output-format", Arg: "FORMAT", Group: GroupInputOutput, Default: FormatJSONL,
		Help:  "output format: jsonl or parquet",
		Field: func(c *Config) any { return &c.OutputFormat }},
	{Name: "output-style", Arg: "STYLE", Group: GroupInputOutput,
		Help:  "rows (default) or bedrock-batch ({recordId, modelInput, modelOutput|error} lines, as Bedrock batch inference writes)",
		Field: func(c *Config) any { return &c.OutputStyle }},
	{Name: "parquet-row-group-rows", Arg: "N", Group: GroupInputOutput, Default: "100000",
		Help:  "rows in one row group of a Parquet output file at most; the writer holds one row group in memory",
		Field: func(c *Config) any { return &c.ParquetRowGroupRows }},
	{Name: "parquet-row-group-bytes", Arg: "N", Group: GroupInputOutput, Default: "67108864",
		Help:  "bytes of values (before compression) in one row group of a Parquet output file at most (default 64 MiB)",
		Field: func(c *Config) any { return &c.ParquetRowGroupBytes }},
	{Name: "id-field", Arg: "NAME", Group: GroupInputOutput,
		Help:  "field or column holding the record id (default id)",
		Field: func(c *Config) any { return &c.IDField }},
	{Name: "prompt-field", Arg: "NAME", Group: GroupInputOutput,
		Help:  "field or column holding the prompt (default prompt)",
		Field: func(c *Config) any { return &c.PromptField }},
	{Name: "document-field", Arg: "NAME", Group: GroupInputOutput,
		Help:  "field whose value (s3:// URI, path, data: URI, or bytes) is a document to attach (repeatable; default documents)",
		Field: func(c *Config) any { return &c.DocumentFields }},
	{Name: "image-field", Arg: "NAME", Group: GroupInputOutput,
		Help:  "field whose value is an image to attach (repeatable; default images)",
		Field: func(c *Config) any { return &c.ImageFields }},
	// Data file sizes (issue 15).
	{Name: "part-rows", Arg: "N", Group: GroupInputOutput, Default: "1000000",
		Help:  "rows in one data file at most: finished rows wait in the journal (_journal/) and are written out as a data file once this many, or --part-bytes, are in, and at the end",
		Field: func(c *Config) any { return &c.PartRows }},
	{Name: "part-bytes", Arg: "N", Group: GroupInputOutput, Default: "268435456",
		Help:  "bytes of rows (as JSONL) in one data file at most (default 256 MiB)",
		Field: func(c *Config) any { return &c.PartBytes }},

	{Name: "model", Arg: "ID", Group: GroupRequest,
		Help:  "Bedrock model id, inference profile id or ARN (for example us.anthropic.claude-haiku-4-5-20251001-v1:0)",
		Field: func(c *Config) any { return &c.ModelID }},
	{Name: "system", Arg: "TEXT", Group: GroupRequest, Secret: true,
		Help:  "system prompt for records that have none of their own",
		Field: func(c *Config) any { return &c.System }},
	{Name: "system-file", Arg: "FILE", Group: GroupRequest,
		Help:  "read the system prompt from a file",
		Field: func(c *Config) any { return &c.SystemFile }},
	{Name: "cache-system", Group: GroupRequest,
		Help:  "put a cachePoint after the system prompt, so records sharing it pay for it once per cache lifetime",
		Field: func(c *Config) any { return &c.CacheSystem }},
	{Name: "template", Arg: "FILE", Group: GroupRequest,
		Help:  "Go text/template that renders each record's user prompt from its fields (e.g. {{.title}}: {{.body}}); {{cachePoint}} marks a cached prefix",
		Field: func(c *Config) any { return &c.TemplateFile }},
	{Name: "max-tokens", Arg: "N", Group: GroupRequest,
		Help:  "maximum output tokens per call (sent only when given); Bedrock reserves it against the quota when a call starts",
		Field: func(c *Config) any { return &c.MaxTokens }},
	{Name: "temperature", Arg: "F", Group: GroupRequest,
		Help:  "sampling temperature (sent only when given, 0 included)",
		Field: func(c *Config) any { return &c.Temperature }},
	{Name: "top-p", Arg: "F", Group: GroupRequest,
		Help:  "nucleus sampling top-p (sent only when given)",
		Field: func(c *Config) any { return &c.TopP }},
	{Name: "stop", Arg: "SEQ", Group: GroupRequest,
		Help:  "stop sequence (repeatable)",
		Field: func(c *Config) any { return &c.StopSequences }},
	{Name: "additional-fields", Arg: "JSON", Group: GroupRequest,
		Help:  `additionalModelRequestFields for every call, a JSON object such as '{"top_k": 50}'; a record's own are merged over it`,
		Field: func(c *Config) any { return &c.AdditionalFields }},
	{Name: "stream", Group: GroupRequest,
		Help:  "call ConverseStream instead of Converse: same rows, plus time_to_first_token_ms; a stream that breaks off is retried whole",
		Field: func(c *Config) any { return &c.Stream }},
	{Name: "service-tier", Arg: "TIER", Group: GroupRequest,
		Help:  "service tier: default, priority, flex (cheaper, slower: batch work that can wait) or reserved",
		Field: func(c *Config) any { return &c.ServiceTier }},
	{Name: "latency", Arg: "MODE", Group: GroupRequest,
		Help:  "performanceConfig latency: standard or optimized",
		Field: func(c *Config) any { return &c.Latency }},
	{Name: "guardrail", Arg: "ID:VERSION", Group: GroupRequest,
		Help:  "apply a guardrail to every call; intervened rows are ok rows with stop_reason guardrail_intervened",
		Field: func(c *Config) any { return &c.Guardrail }},
	{Name: "guardrail-trace", Group: GroupRequest,
		Help:  "ask for the guardrail trace",
		Field: func(c *Config) any { return &c.GuardrailTrace }},
	{Name: "json-schema", Arg: "FILE", Group: GroupRequest,
		Help:  "JSON Schema: force structured output matching it (one forced tool); output_json holds it; answers that do not validate are asked for again, then SchemaMismatch",
		Field: func(c *Config) any { return &c.JSONSchemaFile }},
	{Name: "schema-attempts", Arg: "N", Group: GroupRequest,
		Help:  "calls per record at most while answers do not match --json-schema (0 = 3)",
		Field: func(c *Config) any { return &c.SchemaAttempts }},
	{Name: "s3-location-models", Arg: "PATTERN", Group: GroupRequest,
		Help:  "model id glob whose calls pass s3:// documents and images as s3Location instead of bytes (repeatable; default amazon.nova-*)",
		Field: func(c *Config) any { return &c.S3LocationModels }},

	{Name: "concurrency", Arg: "N", Group: GroupQuota, Default: "16",
		Help:  "calls in flight at most, over all models",
		Field: func(c *Config) any { return &c.Concurrency }},
	{Name: "tpm", Arg: "N|MODEL=N", Group: GroupQuota,
		Help:  "tokens per minute for each model, counted as Bedrock does (input + maxTokens reserved when a call starts, settled to input + output x burndown); MODEL=N sets one model's own (repeatable)",
		Field: func(c *Config) any { return &c.TokensPerMinute },
		Set:   func(c *Config, v string) error { return c.SetQuota("tpm", v) }},
	{Name: "rpm", Arg: "N|MODEL=N", Group: GroupQuota,
		Help:  "requests per minute for each model, paced evenly (0 = not known: found by throttling); MODEL=N sets one model's own (repeatable)",
		Field: func(c *Config) any { return &c.RequestsPerMinute },
		Set:   func(c *Config, v string) error { return c.SetQuota("rpm", v) }},
	{Name: "tpd", Arg: "N|MODEL=N", Group: GroupQuota,
		Help:  "tokens per day for each model: the run stops before the budget is spent and exits 4; MODEL=N sets one model's own (repeatable)",
		Field: func(c *Config) any { return &c.TokensPerDay },
		Set:   func(c *Config, v string) error { return c.SetQuota("tpd", v) }},
	{Name: "quotas", Group: GroupQuota, FileOnly: true,
		Help:  "models' own quotas, a map of model id to {rpm, tpm, tpd}",
		Field: func(c *Config) any { return &c.Quotas }},
	{Name: "burndown", Arg: "PATTERN=N", Group: GroupQuota,
		Help:  "override the burndown table: output tokens of matching models count N times toward their quota (repeatable; built in: 5 for Claude 3.7 Sonnet and Claude 4.x)",
		Field: func(c *Config) any { return &c.Burndown }},
	{Name: "count-tokens", Group: GroupQuota,
		Help:  "count input tokens exactly with Bedrock's CountTokens (free; Claude models) instead of estimating: for --dry-run's totals, and in a run for each call's quota reservation",
		Field: func(c *Config) any { return &c.CountTokens }},
	// Issue 17: the account's own quotas, read from Service Quotas.
	{Name: "quota-share", Arg: "F", Group: GroupQuota, Default: "1",
		Help:  "use only this fraction (0 to 1) of each quota, given or read from Service Quotas: what other work on the same models leaves this run",
		Field: func(c *Config) any { return &c.QuotaShare }},

	{Name: "max-attempts", Arg: "N", Group: GroupRetries, Default: "20",
		Help:  "calls per record at most, the first included, before it becomes an error row",
		Field: func(c *Config) any { return &c.MaxAttempts }},
	{Name: "request-timeout", Arg: "DURATION", Group: GroupRetries, Default: "5m",
		Help:  "time one call may take before it is retried",
		Field: func(c *Config) any { return &c.RequestTimeout }},
	{Name: "stop-after-errors", Arg: "N", Group: GroupRetries, Default: "20",
		Help:  "stop the run (exit 2) after N calls in a row to one model fail with the same error no retry can fix (0 = never)",
		Field: func(c *Config) any { return &c.StopAfterErrors }},
	{Name: "grace", Arg: "DURATION", Group: GroupRetries, Default: "10s",
		Help:  "on SIGINT/SIGTERM, how long calls in flight may finish before they are abandoned",
		Field: func(c *Config) any { return &c.Grace }},
	// Durability and one run per output shard (issue 15).
	{Name: "sync-interval", Arg: "DURATION", Group: GroupRetries,
		Help:  "least time between two syncs of the journal, which make every row finished since durable: what a kill -9 can cost besides the calls in flight (default: continuous for a local output, each sync starting when the last ends; 250ms on S3)",
		Field: func(c *Config) any { return &c.SyncInterval }},
	{Name: "output-grace", Arg: "DURATION", Group: GroupRetries, Default: "2m",
		Help:  "when the output stops taking rows, the run starts no new call, keeps its rows in a local spool and tries the output again this long before it exits 1 (the next run on this machine commits the spooled rows)",
		Field: func(c *Config) any { return &c.OutputGrace }},
	{Name: "wait", Group: GroupRetries,
		Help:  "when another run holds this output shard, wait for it to end instead of exiting 5",
		Field: func(c *Config) any { return &c.Wait }},

	{Name: "allow-changed-options", Group: GroupJob,
		Help:  "resume into an output whose rows were made with other options (model, prompts, inference parameters, schema, ...), mixing their answers",
		Field: func(c *Config) any { return &c.AllowChangedOptions }},
	{Name: "retry-errors", Group: GroupJob,
		Help:  "on a re-run into the same output, send records that have an error row again (their error rows are replaced)",
		Field: func(c *Config) any { return &c.RetryErrors }},
	{Name: "shard", Arg: "I/N", Group: GroupJob,
		Help:  "this worker's part of a job split between N workers by a hash of the record id (default: from AWS_BATCH_JOB_ARRAY_INDEX/SIZE, or JOB_COMPLETION_INDEX with --shards)",
		Field: func(c *Config) any { return &c.Shard }},
	{Name: "shards", Arg: "N", Group: GroupJob,
		Help:  "number of shards of a Kubernetes Indexed Job (JOB_COMPLETION_INDEX says which one this is)",
		Field: func(c *Config) any { return &c.Shards }},
	{Name: "prices", Arg: "FILE", Group: GroupJob,
		Help:  "price table (JSON, as prices/prices.json) overriding the shipped prices of cost estimates",
		Field: func(c *Config) any { return &c.PricesFile }},
	{Name: "dry-run", Group: GroupJob, FlagOnly: true,
		Help:  "read and check every record, print the estimated tokens, cost and time at the given limits, and call nothing",
		Field: func(c *Config) any { return &c.DryRun }},
	{Name: "demo", Group: GroupJob, FlagOnly: true,
		Help:  "call a built-in Bedrock emulator instead of AWS (no credentials needed); --model defaults to a demo id",
		Field: func(c *Config) any { return &c.Demo }},

	{Name: "route", Arg: "ROUTE", Group: GroupRoute, Default: RouteOnDemand,
		Help:  "on-demand (Converse calls), batch-inference (Bedrock batch inference jobs: about half the price, hours; the rest on demand) or auto (batch inference kept to --deadline)",
		Field: func(c *Config) any { return &c.Route }},
	{Name: "role-arn", Arg: "ARN", Group: GroupRoute,
		Help:  "service role Bedrock batch inference runs as (reads --staging, writes job outputs, invokes the model)",
		Field: func(c *Config) any { return &c.RoleARN }},
	{Name: "staging", Arg: "S3_PREFIX", Group: GroupRoute,
		Help:  "s3://bucket/prefix/ where batch-inference job inputs and outputs live",
		Field: func(c *Config) any { return &c.Staging }},
	{Name: "deadline", Arg: "DURATION|TIME", Group: GroupRoute,
		Help:  "when every record must have its row: a duration from the start (6h) or a time (2026-11-26T06:00:00Z); jobs that would miss it are stopped and their rest run on demand",
		Field: func(c *Config) any { return &c.Deadline }},
	{Name: "deadline-margin", Arg: "DURATION", Group: GroupRoute, Default: "5m",
		Help:  "time kept free before --deadline",
		Field: func(c *Config) any { return &c.DeadlineMargin }},
	{Name: "batch-min-records", Arg: "N", Group: GroupRoute,
		Help:  "fewest records a batch-inference job takes; fewer go on demand (0 = the model's quota from Service Quotas, else 100)",
		Field: func(c *Config) any { return &c.BatchMinRecords }},
	{Name: "batch-max-records", Arg: "N", Group: GroupRoute,
		Help:  "most records in one batch-inference job (0 = the model's quota from Service Quotas, else 50000)",
		Field: func(c *Config) any { return &c.BatchMaxRecords }},
	{Name: "batch-max-bytes", Arg: "N", Group: GroupRoute,
		Help:  "most bytes in one batch-inference job's input file (0 = the model's quota from Service Quotas, else Bedrock's default of 1 GB)",
		Field: func(c *Config) any { return &c.BatchMaxBytes }},
	{Name: "batch-poll", Arg: "DURATION", Group: GroupRoute, Default: "30s",
		Help:  "first wait between job status checks (it doubles while nothing changes, to 5m)",
		Field: func(c *Config) any { return &c.BatchPoll }},
	{Name: "batch-resubmit", Group: GroupRoute,
		Help:  "give the records of a batch-inference job that failed or expired to one new job instead of on demand",
		Field: func(c *Config) any { return &c.BatchResubmit }},
	// Locked-down accounts (issue 19).
	{Name: "batch-subnets", Arg: "ID,...", Group: GroupRoute,
		Help:  "subnets batch-inference jobs run in (the job's vpcConfig, with --batch-security-groups; repeatable)",
		Field: func(c *Config) any { return &c.BatchSubnets }},
	{Name: "batch-security-groups", Arg: "ID,...", Group: GroupRoute,
		Help:  "security groups of batch-inference jobs (the job's vpcConfig, with --batch-subnets; repeatable)",
		Field: func(c *Config) any { return &c.BatchSecurityGroups }},
	{Name: "tag", Arg: "KEY=VALUE", Group: GroupRoute,
		Help:  "tag every batch-inference job (repeatable)",
		Field: func(c *Config) any { return &c.Tags }},

	{Name: "progress-interval", Arg: "DURATION", Group: GroupLogs, Default: "30s",
		Help:  "how often progress is logged when standard error is not a terminal (on a terminal a live line is kept instead)",
		Field: func(c *Config) any { return &c.ProgressInterval }},
	{Name: "log-format", Arg: "FORMAT", Group: GroupLogs, Default: LogText,
		Help:  "text (logfmt: key=value) or json (one JSON object a line, for CloudWatch Logs Insights and the like)",
		Field: func(c *Config) any { return &c.LogFormat }},
	// Issue 17: batch jobs that always fit.
	{Name: "no-on-demand", Group: GroupRoute,
		Help:  "with a batch-inference route, send nothing on demand: records no job answers (a tail under the minimum, records a job failed, a job that ended early) keep no row, and the run exits 1",
		Field: func(c *Config) any { return &c.NoOnDemand }},

	{Name: "region", Arg: "REGION", Group: GroupAWS,
		Help:  "AWS region (default: from the AWS chain, e.g. AWS_REGION)",
		Field: func(c *Config) any { return &c.Region }},
	{Name: "bedrock-endpoint", Arg: "URL", Group: GroupAWS,
		Help:  "Bedrock Runtime endpoint (default: AWS_ENDPOINT_URL_BEDROCK_RUNTIME, else the region's)",
		Field: func(c *Config) any { return &c.BedrockEndpoint }},
	{Name: "bedrock-control-endpoint", Arg: "URL", Group: GroupAWS,
		Help:  "Bedrock control-plane endpoint for batch-inference jobs (default: AWS_ENDPOINT_URL_BEDROCK, else the region's)",
		Field: func(c *Config) any { return &c.ControlEndpoint }},
	{Name: "s3-endpoint", Arg: "URL", Group: GroupAWS,
		Help:  "S3 endpoint (MinIO, a VPC endpoint; default: AWS_ENDPOINT_URL_S3, else AWS); implies path-style addressing",
		Field: func(c *Config) any { return &c.S3Endpoint }},
	{Name: "s3-path-style", Group: GroupAWS,
		Help:  "use path-style S3 addressing (bucket in the path, not the host name)",
		Field: func(c *Config) any { return &c.S3PathStyle }},
	// Locked-down accounts (issue 19).
	{Name: "s3-sse", Arg: "MODE", Group: GroupAWS,
		Help:  "server-side encryption of every object the run writes: aws:kms, aws:kms:dsse or AES256 (default: none asked, the bucket's default applies)",
		Field: func(c *Config) any { return &c.S3SSE }},
	{Name: "s3-kms-key-id", Arg: "ARN", Group: GroupAWS,
		Help:  "KMS key of --s3-sse aws:kms (implied when only this is given), as the bucket policy names it; also batch-inference jobs' output key",
		Field: func(c *Config) any { return &c.S3KMSKeyID }},
	{Name: "expected-bucket-owner", Arg: "ACCOUNT_ID", Group: GroupAWS,
		Help:  "account that must own every bucket the run touches: sent with every S3 call (S3 refuses a bucket of another account) and as batch-inference jobs' s3BucketOwner",
		Field: func(c *Config) any { return &c.ExpectedBucketOwner }},
	// Issue 17: where the account's quotas are read.
	{Name: "service-quotas-endpoint", Arg: "URL", Group: GroupAWS,
		Help:  "Service Quotas endpoint, where the account's Bedrock quotas are read at start (default: AWS_ENDPOINT_URL_SERVICE_QUOTAS, else the region's)",
		Field: func(c *Config) any { return &c.ServiceQuotasEndpoint }},
}

// Lookup returns the option called name.
func Lookup(name string) (*Option, bool) {
	for i := range Options {
		if Options[i].Name == name {
			return &Options[i], true
		}
	}
	return nil, false
}
