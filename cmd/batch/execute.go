package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/jobs"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// mode is what execute does with a configured job.
type mode int

const (
	modeRun      mode = iota
	modeDryRun        // read every record, estimate tokens, cost and time; call nothing
	modeValidate      // check inputs, a sample of records and the output; call nothing
)

// validateSample is how many records batch validate parses.
const validateSample = 1000

// execute wires the configured source, model and sink into one pipeline run
// and writes the manifest; it returns the exit code.
func execute(ctx context.Context, stop <-chan struct{}, cfg *jobs.Config, m mode, store *storage, model pipeline.Model, control batchinfer.Control, stdout, stderr io.Writer, logger *slog.Logger) int {
	started := time.Now()
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "batch run: "+format+"\n", args...)
		return exitFailed
	}
	prices, err := jobs.LoadPrices(cfg.PricesFile)
	if err != nil {
		return fail("%v", err)
	}
	inputs, err := store.inputs(ctx, cfg)
	if err != nil {
		return fail("%v", err)
	}
	out, err := store.output(ctx, cfg.Output)
	if err != nil {
		return fail("%v", err)
	}
	ledger, err := openLedger(ctx, store, out, cfg.Shard)
	if err != nil {
		return fail("%v", err)
	}
	if cfg.RetryErrors && m == modeRun {
		if err := ledger.DropErrorRows(ctx, out, store, out.Path, cfg.Shard); err != nil {
			return fail("%v", err)
		}
	}
	runID := jobs.NewRunID(started)
	sink, err := writer.New(out, writer.Options{Format: writer.Format(cfg.OutputFormat), Style: cfg.OutputStyle, NamePrefix: cfg.Shard.DataPrefix(runID)})
	if err != nil {
		return fail("%v", err)
	}
	setup, err := setUpRequests(cfg, store)
	if err != nil {
		return fail("%v", err)
	}
	files := reader.OpenFilesWith(store, inputs).WithOptions(setup.reader)
	defer files.Close()
	source := jobs.NewFilter(files, cfg.Shard, ledger, cfg.RetryErrors)

	limiter, err := newLimiter(cfg)
	if err != nil {
		return fail("%v", err)
	}
	stopAfter := cfg.StopAfterErrors
	if stopAfter == 0 {
		stopAfter = -1 // never
	}
	opts := pipeline.Options{
		Concurrency:     cfg.Concurrency,
		Requests:        setup.builder,
		SchemaAttempts:  cfg.SchemaAttempts,
		EchoModelInput:  cfg.OutputStyle == jobs.StyleBedrockBatch,
		Retry:           pipeline.Retry{MaxAttempts: cfg.MaxAttempts, AttemptTimeout: cfg.RequestTimeout},
		CommitInterval:  cfg.CommitInterval,
		Limiter:         pipeline.RateLimited(limiter),
		StopAfterErrors: stopAfter,
	}
	if setup.schema != nil {
		opts.Schema = setup.schema
	}
	if counter, ok := model.(pipeline.Counter); ok && cfg.CountTokens && m == modeRun {
		opts.Counter = counter
	}
	var runSource pipeline.Source = source
	var hyb *hybrid
	if cfg.Route != "" && cfg.Route != jobs.RouteOnDemand && m == modeRun {
		if hyb, err = startHybrid(ctx, stop, cfg, started, store, control, out, ledger, inputs, setup, source, logger); err != nil {
			return fail("batch inference: %v", err)
		}
		runSource, opts.Answered = hyb.source, hyb.rows
	}
	run := pipeline.New(runSource, model, sink, opts)
	if m != modeRun {
		describe(stdout, cfg, inputs, out, ledger)
		limit := int64(0)
		if m == modeValidate {
			limit = validateSample
		}
		var counter tokenCounter
		if counts, ok := model.(tokenCounter); ok && cfg.CountTokens && m == modeDryRun {
			counter = counts
		}
		found, err := survey(ctx, source, run, limit, counter, cfg.Concurrency)
		if err != nil {
			return fail("%v", err)
		}
		problems := preflight(stdout, cfg, found)
		if m == modeDryRun {
			printDryRun(stdout, cfg, found, source.AlreadyDone, prices)
			if problems > 0 {
				return exitFailed
			}
			return exitOK
		}
		fmt.Fprintf(stdout, "validated: %d records read, %d invalid, %d duplicate ids\n", found.records, found.invalid, found.duplicates)
		for _, e := range found.firstErrors {
			fmt.Fprintf(stdout, "  %s\n", e)
		}
		if found.invalid > 0 || problems > 0 {
			return exitFailed
		}
		return exitOK
	}
	logger.Info("run starting", "run_id", runID, "shard", cfg.Shard.String(), "inputs", len(inputs), "model", cfg.ModelID,
		"concurrency", cfg.Concurrency, "limits", quotaOf(cfg.QuotaFor("")).String(), "output", out.String(),
		"rows_already_in_output", ledger.Totals.Records)

	warnNoMaxTokens(cfg, logger)
	var jobStates func() string
	if hyb != nil {
		jobStates = func() string { return describeParts(hyb.route.Parts()) }
	}
	progress := startProgress(ctx, run, jobStates, stderr, logger)
	siblings := watchSiblings(ctx, cfg.Shard, out, limiter, logger)
	summary, runErr := run.Run(ctx, stop)
	if hyb != nil {
		if err := hyb.wait(); err != nil && runErr == nil {
			runErr = fmt.Errorf("batch inference: %w", err)
		}
	}
	siblings.stop()
	progress.stop()
	writeCtx := context.WithoutCancel(ctx)
	if closeErr := sink.Close(writeCtx); closeErr != nil && runErr == nil {
		runErr = closeErr
	}
	if runErr != nil {
		out.abandon(writeCtx, logger)
	}

	manifest := buildManifest(cfg, runID, started, inputs, ledger, source, sink.Files(), summary, limiter.Report(), runErr)
	manifest.PriceModels(prices)
	if hyb != nil {
		manifest.BatchJobs = batchJobsOf(hyb.route.Parts())
	}
	if err := jobs.WriteManifest(writeCtx, out, manifest); err != nil {
		if runErr == nil {
			runErr = err
		} else {
			logger.Error("the manifest could not be written either", "output", out.String(), "error", err)
		}
	}
	printSummary(stdout, manifest, out.Path)

	switch {
	case runErr != nil:
		return fail("%v", runErr)
	case len(summary.QuotaStopped) > 0:
		for model, why := range summary.QuotaStopped {
			fmt.Fprintf(stderr, "batch run: stopped at the daily quota of %s: %s\n", model, why)
		}
		fmt.Fprintf(stderr, "batch run: %d records read have no row yet (and any not read); run the same command again after the quota resets to continue\n",
			summary.Read-summary.Records)
		return exitQuota
	case summary.Interrupted:
		fmt.Fprintf(stderr, "batch run: interrupted: %d of %d records read have a row; run again with the same output to finish\n", summary.Records, summary.Read)
		return exitFailed
	case manifest.Counts.Error > 0:
		return exitSomeErrors
	}
	return exitOK
}

// openLedger removes what a killed earlier run of this shard left half
// written and reads what the output already holds.
func openLedger(ctx context.Context, store *storage, out *outputLocation, shard jobs.Shard) (*jobs.Ledger, error) {
	names, err := out.List(ctx)
	if err != nil {
		return nil, err
	}
	stale := jobs.Superseded(names)
	for _, name := range names {
		if jobs.IsStaleTemp(name, shard) {
			stale = append(stale, name)
		}
	}
	for _, name := range stale {
		if err := out.Remove(ctx, name); err != nil {
			return nil, err
		}
	}
	if len(stale) > 0 {
		if names, err = out.List(ctx); err != nil {
			return nil, err
		}
	}
	return jobs.ScanOutput(ctx, store, out.Path, names, shard)
}

func buildManifest(cfg *jobs.Config, runID string, started time.Time, inputs []reader.Input, ledger *jobs.Ledger,
	filter *jobs.Filter, files []string, summary pipeline.Summary, quotas []ratelimit.ModelReport, runErr error) *jobs.Manifest {
	paths := make([]string, len(inputs))
	for i, in := range inputs {
		paths[i] = in.Path
	}
	var rate ratelimit.Rate // summed over models
	reports := make([]jobs.QuotaReport, len(quotas))
	for i, q := range quotas {
		rate.RequestsPerMinute += q.Rate.RequestsPerMinute
		rate.TokensPerMinute += q.Rate.TokensPerMinute
		reports[i] = jobs.QuotaReport{ModelReport: q, AchievedOfQuota: q.Utilization()}
	}
	thisRun := jobs.Tokens{Input: summary.Tokens.Input, Output: summary.Tokens.Output, Total: summary.Tokens.Total,
		CacheRead: summary.Tokens.CacheRead, CacheWrite: summary.Tokens.CacheWrite}
	before := ledger.Totals
	m := &jobs.Manifest{
		RunID:       runID,
		Shard:       cfg.Shard,
		Complete:    runErr == nil && !summary.Interrupted,
		Interrupted: summary.Interrupted,
		StartedAt:   started.UTC(),
		EndedAt:     time.Now().UTC(),
		WallSeconds: time.Since(started).Seconds(),
		Inputs:      paths,
		OutputFiles: files,
		Counts: jobs.Counts{
			Records: before.Records + summary.Records,
			OK:      before.OK + summary.OK,
			Error:   before.Error + summary.Errors,
		},
		Tokens: before.Tokens.Plus(thisRun),
		ThisRun: jobs.RunCounts{Rows: summary.Records, OK: summary.OK, Error: summary.Errors,
			AlreadyDone: filter.AlreadyDone, Duplicates: filter.Duplicates,
			Unwritten: summary.Read - summary.Records, Tokens: thisRun},
		Calls: jobs.Calls{Attempts: summary.Attempts, Retries: summary.Retries, Throttled: summary.Throttled,
			SettledRequestsPerMinute: rate.RequestsPerMinute, SettledTokensPerMinute: rate.TokensPerMinute,
			LatencyMs: jobs.Latency{P50: summary.LatencyP50.Milliseconds(), P95: summary.LatencyP95.Milliseconds(), P99: summary.LatencyP99.Milliseconds()}},
		Options: cfg,
	}
	m.Quotas = reports
	if len(summary.QuotaStopped) > 0 {
		m.StoppedAtQuota = summary.QuotaStopped
		m.Complete = false
	}
	cumulative := cumulativeTotals(before, summary)
	m.Models, m.ServiceTiers, m.GuardrailIntervened = cumulative.Models, cumulative.ServiceTiers, cumulative.GuardrailIntervened
	if runErr != nil {
		m.Error = runErr.Error()
	}
	return m
}

// cumulativeTotals adds this run's per-model rows, tiers and guardrail
// counts to what the output held before it.
func cumulativeTotals(before jobs.Totals, summary pipeline.Summary) jobs.Totals {
	t := before.Clone()
	t.Merge(summary.Totals)
	return t
}

func printSummary(w io.Writer, m *jobs.Manifest, path func(string) string) {
	fmt.Fprintf(w, "this run: rows %d  ok %d  error %d  already done %d  tokens in %d out %d  calls %d (retries %d, throttled %d)  latency p50 %dms p99 %dms  %.1fs\n",
		m.ThisRun.Rows, m.ThisRun.OK, m.ThisRun.Error, m.ThisRun.AlreadyDone, m.ThisRun.Tokens.Input, m.ThisRun.Tokens.Output,
		m.Calls.Attempts, m.Calls.Retries, m.Calls.Throttled, m.Calls.LatencyMs.P50, m.Calls.LatencyMs.P99, m.WallSeconds)
	cost := "unknown (no price for the model)"
	if m.CostUSD != nil {
		cost = fmt.Sprintf("$%.4f", *m.CostUSD)
	}
	fmt.Fprintf(w, "output (%s): records %d  ok %d  error %d  tokens in %d out %d  estimated cost %s  complete %v\n",
		m.Shard, m.Counts.Records, m.Counts.OK, m.Counts.Error, m.Tokens.Input, m.Tokens.Output, cost, m.Complete)
	if m.SavingUSD != nil {
		var batchRows, batchOK int64
		for _, t := range m.Models {
			if t.Batch != nil {
				batchRows, batchOK = batchRows+t.Batch.Records, batchOK+t.Batch.OK
			}
		}
		fmt.Fprintf(w, "routes: %d rows from batch-inference jobs (%d ok), %d on demand; all on demand would have cost $%.4f: saved $%.4f\n",
			batchRows, batchOK, m.Counts.Records-batchRows, *m.CostAllOnDemandUSD, *m.SavingUSD)
	}
	if m.Calls.SettledRequestsPerMinute > 0 {
		fmt.Fprintf(w, "rate settled at %.0f requests/min", m.Calls.SettledRequestsPerMinute)
		if m.Calls.SettledTokensPerMinute > 0 {
			fmt.Fprintf(w, ", %.0f tokens/min", m.Calls.SettledTokensPerMinute)
		}
		fmt.Fprintln(w)
	}
	for _, f := range m.OutputFiles {
		fmt.Fprintf(w, "wrote %s\n", path(f))
	}
}
