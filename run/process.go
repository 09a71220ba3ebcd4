package run

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/ledger"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// Run sends every record the output does not settle and writes one row
// per record. It returns once every finished row is committed: when all
// records have rows, when Deps.Signals or ctx stopped it, or when it could
// not go on (the error). Close then writes the manifest.
func (r *Run) Run(ctx context.Context) error {
	cfg, deps := r.cfg, r.deps
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := make(chan struct{})
	stopRun := sync.OnceFunc(func() { close(stop) })

	// The run's own goroutines, stopped and waited for when it ends.
	background, bgCtx := errgroup.WithContext(ctx)
	bgCtx, stopBackground := context.WithCancel(bgCtx)
	defer func() {
		stopBackground()
		background.Wait()
	}()
	background.Go(func() error { watchSignals(bgCtx, deps, cfg.Grace, stopRun, cancel); return nil })

	runID := r.runID
	sink, err := r.openJournal()
	if err != nil {
		return err
	}
	writeCtx := context.WithoutCancel(ctx)
	abandon := func(runErr error) error {
		if err := sink.Close(writeCtx); err != nil {
			deps.Logger.Error("writing out the journal", "output", r.out.URI(""), "error", err)
		}
		return runErr
	}
	if cfg.RetryErrors {
		if err := r.compactAdopted(ctx, sink); err != nil {
			return abandon(err)
		}
		if err := r.ledger.DropErrorRows(ctx, r.out, cfg.Shard); err != nil {
			return abandon(err)
		}
	}
	if err := r.replaySpool(ctx, sink); err != nil {
		return abandon(err)
	}
	if err := recordOptions(ctx, r.out, r.options, runID); err != nil {
		return abandon(err)
	}
	background.Go(func() error { return sink.Compacting(bgCtx) })
	background.Go(func() error { r.keepLease(bgCtx, sink, stopRun); return nil })
	files := reader.OpenFilesWith(deps.Storage, r.inputs).WithOptions(r.setup.reader)
	defer files.Close()
	source := ledger.NewFilter(files, cfg.Shard, r.ledger, cfg.RetryErrors)
	opts := r.pipelineOptions()
	opts.RunID = runID
	if counter, ok := deps.Model.(pipeline.Counter); ok && cfg.CountTokens {
		opts.Counter = counter
	}

	var runSource reader.Source = source
	var route *batchRoute
	if cfg.Route != "" && cfg.Route != config.RouteOnDemand {
		if route, err = r.startBatchRoute(ctx, background, bgCtx, stop, source); err != nil {
			return abandon(fmt.Errorf("batch inference: %w", err))
		}
		runSource, opts.Answered = route.source, route.rows
	}
	p := pipeline.New(runSource, deps.Model, sink, opts)
	r.ran = true // from here on, Close writes a manifest

	deps.Logger.Info("run starting", "run_id", runID, "shard", cfg.Shard.String(), "inputs", len(r.inputs), "model", cfg.ModelID,
		"concurrency", cfg.Concurrency, "limits", r.quotas.limits(cfg.ModelID).quota.String(), "output", r.out.URI(""),
		"rows_already_in_output", r.ledger.Totals.Records)
	r.quotas.logQuotas(deps.Logger)
	warnNoMaxTokens(cfg, r.quotas, deps.Logger)
	r.reportFit(deps.Logger)
	shown := &progress{deps: deps, pipeline: p, filter: source, prices: r.prices, inputs: -1,
		limits: limitsName(cfg, r.quotas), sharded: cfg.Shard.Sharded(), calls: cfg.Concurrency,
		samples: []sample{{at: deps.Clock.Now()}}}
	if route != nil {
		shown.jobStates = func() string { return describeParts(route.route.Parts()) }
	}
	if !cfg.Shard.Sharded() {
		background.Go(func() error {
			atomic.StoreInt64(&shown.inputs, countRecords(bgCtx, deps.Storage, r.inputs))
			return nil
		})
	}
	background.Go(func() error { shown.show(bgCtx); return nil })
	if cfg.Shard.Sharded() {
		background.Go(func() error { watchSiblings(bgCtx, deps, cfg.Shard, r.out, r.setShare); return nil })
	}

	summary, runErr := p.Run(ctx, stop)
	var fatal *pipeline.FatalError
	var systematic *pipeline.SystematicError
	if errors.As(runErr, &fatal) || errors.As(runErr, &systematic) {
		runErr = setup(runErr) // every other call would fail the same way
	}
	if route != nil {
		if err := route.wait(); err != nil && runErr == nil {
			runErr = fmt.Errorf("batch inference: %w", err)
		}
	}
	if closeErr := sink.Close(writeCtx); closeErr != nil && runErr == nil {
		runErr = closeErr
	}
	r.logJournal(sink, summary.WallTime)
	if lost := r.lostLease(); lost != nil {
		runErr = fmt.Errorf("stopped: %w", lost)
	}
	if runErr != nil {
		if n, err := storage.Abandon(writeCtx, r.out); err != nil {
			deps.Logger.Error("aborting unfinished uploads", "output", r.out.URI(""), "error", err)
		} else if n > 0 {
			deps.Logger.Info("aborted unfinished uploads", "output", r.out.URI(""), "count", n)
		}
	}
	r.manifest = r.buildManifest(runID, source, sink.Files(), summary, runErr)
	if route != nil {
		r.manifest.BatchJobs = batchJobsOf(route.route.Parts())
		r.manifest.WholeJobsOnDemand = r.wholeJobWarnings(route.route, summary.Totals)
	}
	return runErr
}

// pipelineOptions are the pipeline's options from the configuration.
func (r *Run) pipelineOptions() pipeline.Options {
	cfg := r.cfg
	stopAfter := cfg.StopAfterErrors
	if stopAfter == 0 {
		stopAfter = -1 // never
	}
	opts := pipeline.Options{
		Concurrency:     cfg.Concurrency,
		Requests:        r.setup.builder,
		SchemaAttempts:  cfg.SchemaAttempts,
		EchoModelInput:  cfg.OutputStyle == config.StyleBedrockBatch,
		Retry:           pipeline.Retry{MaxAttempts: cfg.MaxAttempts, AttemptTimeout: cfg.RequestTimeout},
		SyncInterval:    r.syncInterval(),
		OutputGrace:     cfg.OutputGrace,
		Limiter:         r.pacer(),
		StopAfterErrors: stopAfter,
	}
	if r.setup.schema != nil {
		opts.Schema = r.setup.schema
	}
	return opts
}
