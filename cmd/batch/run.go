package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/bedrock-batch/bedrock-batch/config"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/run"
	"github.com/bedrock-batch/bedrock-batch/shard"
)

const runUsage = `Usage: batch run --input PATH... --output DIR --model MODEL_ID [flags]

Reads every record of the inputs, calls Bedrock Converse for each, and writes
one row per record (in any order) to data files in DIR, then DIR/_manifest.json.

Input records (JSONL, one object a line): {"id": "q1", "prompt": "..."} or
{"id": 7, "messages": [{"role": "user", "content": [{"text": "..."}]}]},
optional "system", "metadata", "model", "inference_config",
"additional_model_request_fields", "documents" and "images"; Bedrock batch
({"recordId", "modelInput"}) and OpenAI batch ({"custom_id", "body"}) records
as they are. Parquet: the same as columns. With --template, any fields.

Credentials and region come from the standard AWS chain (environment,
profile, SSO, task or instance role).

Exit status: 0 every row ok; 3 finished but some rows are errors;
1 the run could not finish; 2 usage error; 4 stopped at a daily quota that
resets later (run the same command again to continue).

Flags:
`

func runCommand(args []string, stdout, stderr io.Writer) int {
	return runOrCheck(args, false, stdout, stderr)
}

// validateCommand checks a job without calling the model.
func validateCommand(args []string, stdout, stderr io.Writer) int {
	return runOrCheck(args, true, stdout, stderr)
}

func runOrCheck(args []string, check bool, stdout, stderr io.Writer) int {
	cfg, demo, err := parseRunFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "batch: %v\nRun \"batch help run\" for usage.\n", err)
		return exitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := context.Background()
	if demo {
		emulator := bedrocktest.NewServer(bedrocktest.Options{Latency: 20 * time.Millisecond})
		defer emulator.Close()
		cfg.BedrockEndpoint, cfg.Region = emulator.URL, "us-east-1"
		logger.Info("demo: calling the built-in Bedrock emulator", "endpoint", emulator.URL)
	}
	deps, err := connect(ctx, cfg, demo)
	if err != nil {
		fmt.Fprintf(stderr, "batch run: loading AWS configuration: %v\n", err)
		return exitFailed
	}
	deps.Logger = logger
	deps.Progress = stderr
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		deps.Terminal = true
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	deps.Signals = signals

	r, err := run.Open(ctx, cfg, deps)
	if err != nil {
		fmt.Fprintf(stderr, "batch run: %v\n", err)
		return exitFailed
	}
	if check || cfg.DryRun {
		survey := r.DryRun
		if check {
			survey = r.Validate
		}
		s, err := survey(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "batch run: %v\n", err)
			return exitFailed
		}
		s.Print(stdout)
		if !s.OK() {
			return exitFailed
		}
		return exitOK
	}
	runErr := r.Run(ctx)
	m, closeErr := r.Close(ctx)
	if closeErr != nil {
		if runErr == nil {
			runErr = closeErr
		} else {
			logger.Error("the manifest could not be written either", "output", r.Output().URI(""), "error", closeErr)
		}
	}
	if m != nil {
		m.PrintSummary(stdout, r.Output().URI)
	}
	return exitStatus(m, runErr, stderr)
}

// exitStatus says how a run ended, on stderr and in its exit status.
func exitStatus(m *manifest.Manifest, runErr error, stderr io.Writer) int {
	switch {
	case runErr != nil:
		fmt.Fprintf(stderr, "batch run: %v\n", runErr)
		return exitFailed
	case len(m.StoppedAtQuota) > 0:
		for model, why := range m.StoppedAtQuota {
			fmt.Fprintf(stderr, "batch run: stopped at the daily quota of %s: %s\n", model, why)
		}
		fmt.Fprintf(stderr, "batch run: %d records read have no row yet (and any not read); run the same command again after the quota resets to continue\n",
			m.ThisRun.Unwritten)
		return exitQuota
	case m.Interrupted:
		fmt.Fprintf(stderr, "batch run: interrupted: %d of %d records read have a row; run again with the same output to finish\n",
			m.ThisRun.Rows, m.ThisRun.Rows+m.ThisRun.Unwritten)
		return exitFailed
	case m.Counts.Error > 0:
		return exitSomeErrors
	}
	return exitOK
}

func parseRunFlags(args []string, stderr io.Writer) (*config.Config, bool, error) {
	fs := flag.NewFlagSet("batch run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	var (
		cfg         = config.Config{}
		inputs      stringList
		stops       stringList
		docFields   stringList
		imageFields stringList
		s3Models    stringList
		burndown    stringList
		maxTokens   optionalInt32
		temperature optionalFloat32
		topP        optionalFloat32
		demo        bool
		shardFlag   string
		shards      int
		jobPath     string
	)
	fs.StringVar(&jobPath, "job", "", "job `FILE` (YAML or JSON) with any of these options, keyed by flag name; flags given here override it")
	fs.Var(&inputs, "input", "input `PATH`: a file or a glob, .jsonl, .ndjson, .jsonl.gz or .parquet (repeatable; extra arguments are inputs too)")
	fs.StringVar(&cfg.InputFormat, "input-format", "", "input format when the extension does not say: jsonl or parquet")
	fs.StringVar(&cfg.Output, "output", "", "output `DIR` or s3://bucket/prefix/ for data files and _manifest.json; a re-run into the same output resumes")
	fs.StringVar(&cfg.OutputFormat, "output-format", config.FormatJSONL, "output format: jsonl or parquet")
	fs.StringVar(&cfg.ModelID, "model", "", "Bedrock model or inference profile `ID` (for example us.anthropic.claude-3-5-haiku-20241022-v1:0)")
	fs.StringVar(&cfg.System, "system", "", "system prompt `TEXT` for records that have none of their own")
	fs.Var(&maxTokens, "max-tokens", "maximum output tokens per call (`N`; sent only when given)")
	fs.Var(&temperature, "temperature", "sampling temperature (`F`; sent only when given, 0 included)")
	fs.Var(&topP, "top-p", "nucleus sampling top-p (`F`; sent only when given)")
	fs.Var(&stops, "stop", "stop sequence `SEQ` (repeatable)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "calls in flight at most")
	fs.Func("rpm", "requests per minute `N` for each model, paced evenly (0 = not known: found by throttling); MODEL_ID=N sets one model's own (repeatable)",
		func(v string) error { return cfg.SetQuota("rpm", v) })
	fs.Func("tpm", "tokens per minute `N` for each model, counted as Bedrock does (input + maxTokens reserved when a call starts, settled to input + output x burndown); MODEL_ID=N sets one model's own (repeatable)",
		func(v string) error { return cfg.SetQuota("tpm", v) })
	fs.Func("tpd", "tokens per day `N` for each model: the run stops before the budget is spent and exits 4; MODEL_ID=N sets one model's own (repeatable)",
		func(v string) error { return cfg.SetQuota("tpd", v) })
	fs.Var(&burndown, "burndown", "override the burndown table: `PATTERN=N` counts a matching model's output tokens N times toward its quota (repeatable; built in: 5 for Claude 3.7 Sonnet and Claude 4.x)")
	fs.IntVar(&cfg.StopAfterErrors, "stop-after-errors", pipeline.DefaultStopAfterErrors, "stop the run (exit 1) after `N` calls in a row to one model fail with the same error no retry can fix (0 = never)")
	fs.IntVar(&cfg.MaxAttempts, "max-attempts", pipeline.DefaultRetry.MaxAttempts, "calls per record at most, the first included, before it becomes an error row")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", pipeline.DefaultRetry.AttemptTimeout, "time one call may take before it is retried")
	fs.DurationVar(&cfg.Grace, "grace", 10*time.Second, "on SIGINT/SIGTERM, how long in-flight calls may finish before they are abandoned")
	fs.DurationVar(&cfg.CommitInterval, "commit-interval", 5*time.Second, "how often finished rows are made durable (also every 5,000 rows): what a kill -9 can cost besides the calls in flight")
	fs.StringVar(&cfg.Region, "region", "", "AWS region (default: from the AWS chain, e.g. AWS_REGION)")
	fs.StringVar(&cfg.BedrockEndpoint, "bedrock-endpoint", "", "Bedrock Runtime endpoint `URL` (default: AWS_ENDPOINT_URL_BEDROCK_RUNTIME, else the region's)")
	fs.StringVar(&cfg.S3Endpoint, "s3-endpoint", "", "S3 endpoint `URL` (MinIO, a VPC endpoint; default: AWS_ENDPOINT_URL_S3, else AWS); implies path-style addressing")
	fs.BoolVar(&cfg.S3PathStyle, "s3-path-style", false, "use path-style S3 addressing (bucket in the path, not the host name)")
	fs.StringVar(&shardFlag, "shard", "", "this worker's part `I/N` of a job split between N workers by a hash of the record id (default: from AWS_BATCH_JOB_ARRAY_INDEX/SIZE, or JOB_COMPLETION_INDEX with --shards)")
	fs.IntVar(&shards, "shards", 0, "number of shards `N` of a Kubernetes Indexed Job (JOB_COMPLETION_INDEX says which one this is)")
	fs.BoolVar(&cfg.RetryErrors, "retry-errors", false, "on a re-run into the same output, send records that have an error row again (their error rows are replaced)")
	fs.StringVar(&cfg.PricesFile, "prices", "", "price table `FILE` (JSON, as jobs/prices.json) overriding the shipped prices used for cost estimates")
	fs.BoolVar(&cfg.DryRun, "dry-run", false, "read and check every record, print the estimated tokens, cost and time at the given limits, and call nothing")
	fs.BoolVar(&cfg.CountTokens, "count-tokens", false, "count input tokens exactly with Bedrock's CountTokens (free; Claude models) instead of estimating: for --dry-run's totals, and in a run for each call's quota reservation")
	fs.StringVar(&cfg.AdditionalFields, "additional-fields", "", "additionalModelRequestFields for every call, a JSON `OBJECT` such as '{\"top_k\": 50}'; a record's own additional_model_request_fields are merged over it")
	fs.BoolVar(&cfg.Stream, "stream", false, "call ConverseStream instead of Converse: same rows, plus time_to_first_token_ms; a stream that breaks off is retried whole")
	fs.StringVar(&cfg.TemplateFile, "template", "", "Go text/template `FILE` that renders each record's user prompt from its fields (e.g. {{.title}}: {{.body}}); {{cachePoint}} marks a cached prefix")
	fs.StringVar(&cfg.IDField, "id-field", "", "field or column `NAME` holding the record id (default id)")
	fs.StringVar(&cfg.PromptField, "prompt-field", "", "field or column `NAME` holding the prompt (default prompt)")
	fs.Var(&docFields, "document-field", "field `NAME` whose value (s3:// URI, path, data: URI, or bytes) is a document to attach (repeatable; default documents)")
	fs.Var(&imageFields, "image-field", "field `NAME` whose value is an image to attach (repeatable; default images)")
	fs.StringVar(&cfg.SystemFile, "system-file", "", "read the system prompt from `FILE`")
	fs.BoolVar(&cfg.CacheSystem, "cache-system", false, "put a cachePoint after the system prompt, so records sharing it pay for it once per cache lifetime")
	fs.StringVar(&cfg.ServiceTier, "service-tier", "", "service tier `TIER`: default, priority, flex (cheaper, slower: batch work that can wait) or reserved")
	fs.StringVar(&cfg.Latency, "latency", "", "performanceConfig latency `MODE`: standard or optimized")
	fs.StringVar(&cfg.Guardrail, "guardrail", "", "apply guardrail `ID:VERSION` to every call; intervened rows are ok rows with stop_reason guardrail_intervened")
	fs.BoolVar(&cfg.GuardrailTrace, "guardrail-trace", false, "ask for the guardrail trace")
	fs.StringVar(&cfg.JSONSchemaFile, "json-schema", "", "JSON Schema `FILE`: force structured output matching it (one forced tool); output_json holds it; answers that do not validate are retried, then SchemaMismatch")
	fs.IntVar(&cfg.SchemaAttempts, "schema-attempts", 0, "calls per record at most while answers do not match --json-schema (0 = 3)")
	fs.Var(&s3Models, "s3-location-models", "model id `PATTERN` (glob) whose calls pass s3:// documents and images as s3Location instead of bytes (repeatable; default amazon.nova-*)")
	fs.StringVar(&cfg.OutputStyle, "output-style", "", "output `STYLE`: rows (default) or bedrock-batch ({recordId, modelInput, modelOutput|error} lines, as Bedrock batch inference writes)")
	fs.StringVar(&cfg.Route, "route", config.RouteOnDemand, "`ROUTE`: on-demand (Converse calls), batch-inference (Bedrock batch inference jobs, about half the price, hours; the rest on demand) or auto (batch inference kept to --deadline)")
	fs.StringVar(&cfg.RoleARN, "role-arn", "", "service role `ARN` Bedrock batch inference runs as (reads --staging, writes job outputs, invokes the model)")
	fs.StringVar(&cfg.Staging, "staging", "", "`s3://bucket/prefix/` where batch-inference job inputs and outputs live")
	fs.StringVar(&cfg.Deadline, "deadline", "", "when every record must have its row: a `DURATION` from the start (6h) or a time (2026-11-26T06:00:00Z); jobs that would miss it are stopped and their rest run on demand")
	fs.DurationVar(&cfg.DeadlineMargin, "deadline-margin", 5*time.Minute, "time kept free before --deadline")
	fs.IntVar(&cfg.BatchMinRecords, "batch-min-records", 100, "fewest records a batch-inference job takes (the account's quota; fewer go on demand)")
	fs.IntVar(&cfg.BatchMaxRecords, "batch-max-records", 50_000, "most records in one batch-inference job (the account's quota)")
	fs.Int64Var(&cfg.BatchMaxBytes, "batch-max-bytes", 0, "most bytes in one batch-inference job's input file (0 = Bedrock's default limit)")
	fs.DurationVar(&cfg.BatchPoll, "batch-poll", 30*time.Second, "first wait between job status checks (it doubles while nothing changes, to 5m)")
	fs.BoolVar(&cfg.BatchResubmit, "batch-resubmit", false, "give the records of a batch-inference job that failed or expired to one new job instead of on-demand")
	fs.StringVar(&cfg.ControlEndpoint, "bedrock-control-endpoint", "", "Bedrock control-plane endpoint `URL` for batch-inference jobs (default: AWS_ENDPOINT_URL_BEDROCK, else the region's)")
	fs.BoolVar(&demo, "demo", false, "call a built-in Bedrock emulator instead of AWS (no credentials needed); --model defaults to a demo id")

	// The job file goes under the flags: load it over the defaults, then
	// let the flags given on the command line override it.
	fileKeys := map[string]bool{}
	if path := findJobFlag(args); path != "" {
		var err error
		if fileKeys, err = config.LoadJobFileKeys(path, os.Getenv, &cfg); err != nil {
			return nil, false, err
		}
	}
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, false, err
	}
	if given := append(inputs, positional...); len(given) > 0 {
		cfg.Inputs = given
	}
	if maxTokens.value != nil {
		cfg.MaxTokens = maxTokens.value
	}
	if temperature.value != nil {
		cfg.Temperature = temperature.value
	}
	if topP.value != nil {
		cfg.TopP = topP.value
	}
	for _, l := range []struct {
		given stringList
		field *[]string
	}{{stops, &cfg.StopSequences}, {docFields, &cfg.DocumentFields}, {imageFields, &cfg.ImageFields}, {s3Models, &cfg.S3LocationModels}, {burndown, &cfg.Burndown}} {
		if len(l.given) > 0 {
			*l.field = l.given
		}
	}
	switch {
	case shardFlag != "":
		if cfg.Shard, err = shard.Parse(shardFlag); err != nil {
			return nil, false, err
		}
	case fileKeys["shard"]:
	default:
		if cfg.Shard, err = shard.FromEnv(os.Getenv, shards); err != nil {
			return nil, false, err
		}
	}
	if demo && cfg.ModelID == "" {
		cfg.ModelID = "demo.echo-v1"
	}
	if err := cfg.Validate(); err != nil {
		return nil, false, err
	}
	return &cfg, demo, nil
}

// findJobFlag returns the value of --job among args, before the flags are
// parsed, so the job file can be loaded under them.
func findJobFlag(args []string) string {
	for i, arg := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") || name != "job" {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
