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
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/jobs"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
)

const runUsage = `Usage: batch run --input PATH... --output DIR --model MODEL_ID [flags]

Reads every record of the inputs, calls Bedrock Converse for each, and writes
one row per record (in any order) to data files in DIR, then DIR/_manifest.json.

Input records (JSONL, one object a line): {"id": "q1", "prompt": "..."} or
{"id": 7, "messages": [{"role": "user", "content": [{"text": "..."}]}]},
optional "system" and "metadata". Parquet: columns id, prompt, system.

Credentials and region come from the standard AWS chain (environment,
profile, SSO, task or instance role).

Exit status: 0 every row ok; 3 finished but some rows are errors;
1 the run could not finish; 2 usage error.

Flags:
`

func runCommand(args []string, stdout, stderr io.Writer) int {
	cfg, demo, err := parseRunFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "batch run: %v\nRun \"batch help run\" for usage.\n", err)
		return exitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan struct{})
	go handleSignals(ctx, cancel, stop, cfg.Grace, logger)

	var awsOpts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		awsOpts = append(awsOpts, config.WithRegion(cfg.Region))
	}
	if demo {
		emulator := bedrocktest.NewServer(bedrocktest.Options{Latency: 20 * time.Millisecond})
		defer emulator.Close()
		cfg.BedrockEndpoint = emulator.URL
		awsOpts = append(awsOpts,
			config.WithRegion("us-east-1"),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("DEMO", "DEMO", "")))
		logger.Info("demo: calling the built-in Bedrock emulator", "endpoint", emulator.URL)
	}
	awsConfig, err := config.LoadDefaultConfig(ctx, awsOpts...)
	if err != nil {
		fmt.Fprintf(stderr, "batch run: loading AWS configuration: %v\n", err)
		return exitFailed
	}
	model := bedrock.New(awsConfig, bedrock.Options{Endpoint: cfg.BedrockEndpoint, MaxConns: cfg.Concurrency})
	return execute(ctx, stop, cfg, model, stdout, stderr, logger)
}

func parseRunFlags(args []string, stderr io.Writer) (*jobs.Config, bool, error) {
	fs := flag.NewFlagSet("batch run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	var (
		cfg         = jobs.Config{}
		inputs      stringList
		stops       stringList
		maxTokens   optionalInt32
		temperature optionalFloat32
		topP        optionalFloat32
		demo        bool
	)
	fs.Var(&inputs, "input", "input `PATH`: a file or a glob, .jsonl, .ndjson, .jsonl.gz or .parquet (repeatable; extra arguments are inputs too)")
	fs.StringVar(&cfg.InputFormat, "input-format", "", "input format when the extension does not say: jsonl or parquet")
	fs.StringVar(&cfg.Output, "output", "", "output `DIR` for data files and _manifest.json (created if missing; must hold no data files yet)")
	fs.StringVar(&cfg.OutputFormat, "output-format", jobs.FormatJSONL, "output format: jsonl or parquet")
	fs.StringVar(&cfg.ModelID, "model", "", "Bedrock model or inference profile `ID` (for example us.anthropic.claude-3-5-haiku-20241022-v1:0)")
	fs.StringVar(&cfg.System, "system", "", "system prompt `TEXT` for records that have none of their own")
	fs.Var(&maxTokens, "max-tokens", "maximum output tokens per call (`N`; sent only when given)")
	fs.Var(&temperature, "temperature", "sampling temperature (`F`; sent only when given, 0 included)")
	fs.Var(&topP, "top-p", "nucleus sampling top-p (`F`; sent only when given)")
	fs.Var(&stops, "stop", "stop sequence `SEQ` (repeatable)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "calls in flight at most")
	fs.IntVar(&cfg.RequestsPerMinute, "rpm", 0, "requests per minute at most, paced evenly (0 = not known: found by throttling)")
	fs.IntVar(&cfg.TokensPerMinute, "tpm", 0, "tokens per minute at most, input plus output, reserved before each call and settled after (0 = not known)")
	fs.IntVar(&cfg.MaxAttempts, "max-attempts", pipeline.DefaultRetry.MaxAttempts, "calls per record at most, the first included, before it becomes an error row")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", pipeline.DefaultRetry.AttemptTimeout, "time one call may take before it is retried")
	fs.DurationVar(&cfg.Grace, "grace", 10*time.Second, "on SIGINT/SIGTERM, how long in-flight calls may finish before they are abandoned")
	fs.StringVar(&cfg.Region, "region", "", "AWS region (default: from the AWS chain, e.g. AWS_REGION)")
	fs.StringVar(&cfg.BedrockEndpoint, "bedrock-endpoint", "", "Bedrock Runtime endpoint `URL` (default: AWS_ENDPOINT_URL_BEDROCK_RUNTIME, else the region's)")
	fs.BoolVar(&demo, "demo", false, "call a built-in Bedrock emulator instead of AWS (no credentials needed); --model defaults to a demo id")

	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, false, err
	}
	cfg.Inputs = append(inputs, positional...)
	cfg.MaxTokens, cfg.Temperature, cfg.TopP = maxTokens.value, temperature.value, topP.value
	cfg.StopSequences = stops
	if demo && cfg.ModelID == "" {
		cfg.ModelID = "demo.echo-v1"
	}
	if err := cfg.Validate(); err != nil {
		return nil, false, err
	}
	return &cfg, demo, nil
}

// handleSignals turns the first SIGINT/SIGTERM into a graceful stop (no new
// records, in-flight calls get cfg.Grace to finish) and the second, or the
// end of the grace period, into cancellation.
func handleSignals(ctx context.Context, cancel context.CancelFunc, stop chan<- struct{}, grace time.Duration, logger *slog.Logger) {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	select {
	case sig := <-signals:
		logger.Warn("stopping: no new records; in-flight calls may finish", "signal", sig.String(), "grace", grace)
		close(stop)
	case <-ctx.Done():
		return
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-signals:
		logger.Warn("second signal: abandoning in-flight calls")
	case <-timer.C:
		logger.Warn("grace period over: abandoning in-flight calls")
	case <-ctx.Done():
		return
	}
	cancel()
}
