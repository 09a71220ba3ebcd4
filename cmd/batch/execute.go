package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/jobs"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// execute wires the configured source, model and sink into one pipeline run
// and writes the manifest; it returns the exit code.
func execute(ctx context.Context, stop <-chan struct{}, cfg *jobs.Config, model pipeline.Model, stdout, stderr io.Writer, logger *slog.Logger) int {
	started := time.Now()
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "batch run: "+format+"\n", args...)
		return exitFailed
	}
	paths, err := reader.Expand(cfg.Inputs)
	if err != nil {
		return fail("%v", err)
	}
	inputs := make([]reader.Input, len(paths))
	for i, p := range paths {
		inputs[i] = reader.Input{Path: p, Format: reader.Format(cfg.InputFormat)}
		if inputs[i].Format == "" {
			if inputs[i].Format, err = reader.FormatOf(p); err != nil {
				return fail("%v (use --input-format)", err)
			}
		}
	}
	dest, err := writer.NewLocalDir(cfg.Output)
	if err != nil {
		return fail("%v", err)
	}
	if err := jobs.CheckOutputEmpty(ctx, dest); err != nil {
		return fail("%v", err)
	}
	runID := jobs.NewRunID(started)
	sink, err := writer.New(dest, writer.Options{Format: writer.Format(cfg.OutputFormat), NamePrefix: "part-" + runID})
	if err != nil {
		return fail("%v", err)
	}
	source := reader.OpenFiles(inputs)
	defer source.Close()

	limits := ratelimit.Limits{RequestsPerMinute: cfg.RequestsPerMinute, TokensPerMinute: cfg.TokensPerMinute}
	limiter := ratelimit.New(limits)
	run := pipeline.New(source, model, sink, pipeline.Options{
		Concurrency: cfg.Concurrency,
		Defaults: pipeline.Defaults{
			ModelID: cfg.ModelID,
			System:  cfg.System,
			Inference: bedrock.InferenceConfig{MaxTokens: cfg.MaxTokens, Temperature: cfg.Temperature,
				TopP: cfg.TopP, StopSequences: cfg.StopSequences},
		},
		Retry:   pipeline.Retry{MaxAttempts: cfg.MaxAttempts, AttemptTimeout: cfg.RequestTimeout},
		Limiter: pipeline.RateLimited(limiter),
	})
	logger.Info("run starting", "run_id", runID, "inputs", len(paths), "model", cfg.ModelID,
		"concurrency", cfg.Concurrency, "limits", limits.String(), "output", cfg.Output)

	progress := startProgress(ctx, run, stderr, logger)
	summary, runErr := run.Run(ctx, stop)
	progress.stop()
	if closeErr := sink.Close(context.WithoutCancel(ctx)); closeErr != nil && runErr == nil {
		runErr = closeErr
	}

	rate := limiter.Rate()
	manifest := jobs.Manifest{
		RunID:       runID,
		Complete:    runErr == nil && !summary.Interrupted,
		Interrupted: summary.Interrupted,
		StartedAt:   started.UTC(),
		EndedAt:     time.Now().UTC(),
		WallSeconds: time.Since(started).Seconds(),
		Inputs:      paths,
		OutputFiles: sink.Files(),
		Counts:      jobs.Counts{Records: summary.Records, OK: summary.OK, Error: summary.Errors, Unwritten: summary.Read - summary.Records},
		Tokens: jobs.Tokens{Input: summary.Tokens.Input, Output: summary.Tokens.Output, Total: summary.Tokens.Total,
			CacheRead: summary.Tokens.CacheRead, CacheWrite: summary.Tokens.CacheWrite},
		Calls: jobs.Calls{Attempts: summary.Attempts, Retries: summary.Retries, Throttled: summary.Throttled,
			SettledRequestsPerMinute: rate.RequestsPerMinute, SettledTokensPerMinute: rate.TokensPerMinute,
			LatencyMs: jobs.Latency{P50: summary.LatencyP50.Milliseconds(), P95: summary.LatencyP95.Milliseconds(), P99: summary.LatencyP99.Milliseconds()}},
		Options: cfg,
	}
	if runErr != nil {
		manifest.Error = runErr.Error()
	}
	if err := jobs.WriteManifest(context.WithoutCancel(ctx), dest, &manifest); err != nil && runErr == nil {
		runErr = err
	}
	printSummary(stdout, &manifest)

	switch {
	case runErr != nil:
		return fail("%v", runErr)
	case summary.Interrupted:
		fmt.Fprintf(stderr, "batch run: interrupted: %d of %d records read have a row; run again to finish\n", summary.Records, summary.Read)
		return exitFailed
	case summary.Errors > 0:
		return exitSomeErrors
	}
	return exitOK
}

func printSummary(w io.Writer, m *jobs.Manifest) {
	fmt.Fprintf(w, "records %d  ok %d  error %d  tokens in %d out %d  calls %d (retries %d, throttled %d)  latency p50 %dms p99 %dms  %.1fs\n",
		m.Counts.Records, m.Counts.OK, m.Counts.Error, m.Tokens.Input, m.Tokens.Output,
		m.Calls.Attempts, m.Calls.Retries, m.Calls.Throttled, m.Calls.LatencyMs.P50, m.Calls.LatencyMs.P99, m.WallSeconds)
	if m.Calls.SettledRequestsPerMinute > 0 {
		fmt.Fprintf(w, "rate settled at %.0f requests/min", m.Calls.SettledRequestsPerMinute)
		if m.Calls.SettledTokensPerMinute > 0 {
			fmt.Fprintf(w, ", %.0f tokens/min", m.Calls.SettledTokensPerMinute)
		}
		fmt.Fprintln(w)
	}
	for _, f := range m.OutputFiles {
		fmt.Fprintf(w, "wrote %s\n", f)
	}
}
