package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
)

func emulateCommand(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("batch emulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: batch emulate [--addr 127.0.0.1:8080] [flags]\n\n"+
			"Serves a Bedrock Runtime emulator (Converse and ConverseStream) with\n"+
			"deterministic answers, optional quotas and injected faults. Point a run at it\n"+
			"with --bedrock-endpoint http://ADDR and any static credentials.\n\n"+
			"With --batch or --batch-s3-endpoint it also serves Bedrock's batch inference\n"+
			"control plane (CreateModelInvocationJob, Get, List, Stop) on the same address,\n"+
			"reading inputs from and writing outputs to S3 (credentials and region from the\n"+
			"standard AWS environment variables).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var opts bedrocktest.Options
	addr := fs.String("addr", "127.0.0.1:8080", "`HOST:PORT` to listen on")
	fs.DurationVar(&opts.Latency, "latency", 0, "added to every call")
	fs.IntVar(&opts.RequestsPerMinute, "rpm", 0, "server-side requests-per-minute quota (0 = none)")
	fs.IntVar(&opts.TokensPerMinute, "tpm", 0, "server-side tokens-per-minute quota (0 = none)")
	fs.IntVar(&opts.TokensPerDay, "tpd", 0, "server-side tokens-per-day quota (0 = none)")
	fs.DurationVar(&opts.QuotaBurst, "quota-burst", 0, "how much of a minute's quota may be used at once (0 = 2s; 1m reads the quota as a per-minute window)")
	modelQuotas := emulateModelQuotas{}
	fs.Var(modelQuotas, "model-quota", "`MODEL=TPM` tokens-per-minute quota of one model id, with --rpm and --tpd (repeatable)")
	burndown := fs.Bool("burndown", false, "count output tokens 5x toward the quotas for Claude 3.7 Sonnet and Claude 4 models, as Bedrock does")
	s3Models := fs.String("s3-location-models", "", "comma-separated model ids that accept s3Location image and document sources")
	fs.Float64Var(&opts.Faults.SchemaMismatch, "schema-mismatch", 0, "fraction of tool-use answers whose input violates the tool's schema")
	fs.DurationVar(&opts.CacheTTL, "cache-ttl", 0, "prompt-cache lifetime (0 = 5m)")
	fs.IntVar(&opts.CacheMinTokens, "cache-min-tokens", 0, "smallest cacheable prefix in tokens (0 = 1024, negative = any)")
	fs.Float64Var(&opts.Faults.Throttle, "throttle", 0, "fraction of calls answered with ThrottlingException")
	fs.Float64Var(&opts.Faults.InternalError, "internal-error", 0, "fraction of calls answered with 500 InternalServerException")
	fs.Float64Var(&opts.Faults.Unavailable, "unavailable", 0, "fraction of calls answered with 503 ServiceUnavailableException")
	fs.Float64Var(&opts.Faults.Reset, "reset", 0, "fraction of calls whose connection is reset")
	fs.Float64Var(&opts.Faults.Hang, "hang", 0, "fraction of calls that never answer")
	fs.Float64Var(&opts.Faults.StreamCut, "stream-cut", 0, "fraction of streams whose connection closes after the first tokens")
	fs.Float64Var(&opts.Faults.MidStreamException, "mid-stream-exception", 0, "fraction of streams that fail after the first tokens")
	fs.Int64Var(&opts.Seed, "seed", 1, "seed for the fault dice")
	fs.StringVar(&opts.Refuse, "refuse", "", "answer every model call with this `EXCEPTION` (AccessDeniedException, UnrecognizedClientException, ExpiredTokenException, ResourceNotFoundException), as Bedrock answers a setup no call gets past")
	batch := fs.Bool("batch", false, "serve batch inference jobs, with S3 at AWS_ENDPOINT_URL_S3 or AWS")
	batchS3 := fs.String("batch-s3-endpoint", "", "serve batch inference jobs with S3 at `URL` (MinIO...; path-style addressing)")
	fs.Float64Var(&opts.Batch.RecordsPerSecond, "batch-records-per-second", 0, "how fast a batch job processes its records (0 = all at once)")
	batchDelay := fs.Duration("batch-delay", 0, "how long a batch job stays Submitted, Validating and Scheduled, each")
	fs.IntVar(&opts.Batch.MinRecords, "batch-min-records", 0, "fewest records a batch job may have (0 = 100, negative = no minimum)")
	fs.IntVar(&opts.Batch.MaxRecords, "batch-max-records", 0, "most records a batch job may have (0 = 50000, negative = no maximum)")
	batchFail := fs.Float64("batch-fail-records", 0, "`FRACTION` of batch records answered with an error line (errorCode 500)")
	// The account's own quotas, listed by ListServiceQuotas and enforced (issue 17).
	account := &bedrocktest.AccountQuotas{Models: map[string]bedrocktest.ModelQuotas{}}
	fs.Func("account-quota", "`MODEL:KEY=N,...` a model's quotas, listed by Service Quotas' ListServiceQuotas and enforced (keys: tpm, cross-region-tpm, global-tpm, tpd, records-per-job, records-per-file, min-records, file-bytes, job-bytes, jobs; repeatable)", func(v string) error {
		model, q, err := bedrocktest.ParseModelQuotas(v)
		account.Models[model] = q
		return err
	})
	fs.IntVar(&account.CrossModelTokensPerDay, "cross-model-tpd", 0, "the account's tokens per day over every model (Cross-Model Max Tokens Per Day; 0 = none)")
	quotaNames := fs.String("quota-names", "invokemodel", "generation of quota names ListServiceQuotas answers with: invokemodel (the user guide's) or model-inference (older)")
	fs.BoolVar(&account.Denied, "deny-service-quotas", false, "answer ListServiceQuotas with AccessDeniedException")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "batch emulate: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if len(modelQuotas) > 0 {
		opts.ModelQuotas = map[string]bedrocktest.Quota{}
		for model, tpm := range modelQuotas {
			opts.ModelQuotas[model] = bedrocktest.Quota{RequestsPerMinute: opts.RequestsPerMinute, TokensPerMinute: tpm, TokensPerDay: opts.TokensPerDay}
		}
	}
	if *burndown {
		opts.Burndown = bedrocktest.ClaudeBurndown
	}
	switch *quotaNames {
	case "invokemodel":
	case "model-inference":
		account.Names = bedrocktest.NamesModelInference
	default:
		fmt.Fprintf(stderr, "batch emulate: --quota-names %q: want invokemodel or model-inference\n", *quotaNames)
		return exitUsage
	}
	if len(account.Models) > 0 || account.CrossModelTokensPerDay > 0 || account.Denied {
		opts.Account = account
	}
	if *s3Models != "" {
		opts.S3LocationModels = strings.Split(*s3Models, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *batchFail < 0 || *batchFail > 1 {
		fmt.Fprintf(stderr, "batch emulate: --batch-fail-records %g is not a fraction between 0 and 1\n", *batchFail)
		return exitUsage
	}
	if *batch || *batchS3 != "" {
		store, err := emulateBatchStore(ctx, *batchS3)
		if err != nil {
			fmt.Fprintf(stderr, "batch emulate: %v\n", err)
			return exitFailed
		}
		opts.BatchStore = store
		opts.Batch.ValidateAfter, opts.Batch.ScheduleAfter, opts.Batch.StartAfter = *batchDelay, *batchDelay, *batchDelay
		if *batchFail > 0 {
			opts.Batch.FailRecord = batchjobs.FailRecordsFraction(*batchFail)
		}
	}
	server, err := bedrocktest.Listen(*addr, opts)
	if err != nil {
		fmt.Fprintf(stderr, "batch emulate: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stderr, "batch emulate: Bedrock Runtime emulator on %s (%s)\n", server.URL, opts)
	<-ctx.Done()
	server.Close() // ends hanging calls and waits for the handlers
	handler := server.Handler()
	stats := handler.Stats()
	fmt.Fprintf(stderr, "batch emulate: served %d requests (%d ok, %d throttled, %d faults)\n", stats.Requests, stats.OK, stats.Throttled, stats.Faults)
	if opts.BatchStore != nil {
		bs := handler.BatchStats()
		fmt.Fprintf(stderr, "batch emulate: %d batch jobs (%d idempotent repeats, %d refused), %d records (%d ok, %d errors)\n",
			bs.JobsCreated, bs.IdempotentRepeats, bs.JobsRejected, bs.RecordsProcessed, bs.RecordsOK, bs.RecordsFailed)
	}
	return exitOK
}

// emulateBatchStore is the S3 the batch jobs use: endpoint (path-style, as MinIO wants), or
// the standard AWS configuration's when endpoint is empty. Region and credentials come from
// the environment; a local server still needs a region to sign for, so us-east-1 fills in.
func emulateBatchStore(ctx context.Context, endpoint string) (batchjobs.ObjectStore, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration for batch S3: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
	return batchjobs.NewS3ObjectStore(client), nil
}

// emulateModelQuotas is the repeatable --model-quota MODEL=TPM flag.
type emulateModelQuotas map[string]int

func (q emulateModelQuotas) String() string {
	parts := make([]string, 0, len(q))
	for model, tpm := range q {
		parts = append(parts, model+"="+strconv.Itoa(tpm))
	}
	return strings.Join(parts, ",")
}

func (q emulateModelQuotas) Set(v string) error {
	i := strings.LastIndexByte(v, '=')
	if i <= 0 {
		return fmt.Errorf("want MODEL=TPM, got %q", v)
	}
	tpm, err := strconv.Atoi(v[i+1:])
	if err != nil || tpm < 0 {
		return fmt.Errorf("want MODEL=TPM with a whole number of tokens, got %q", v)
	}
	q[v[:i]] = tpm
	return nil
}
