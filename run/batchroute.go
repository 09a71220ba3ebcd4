package run

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/batchroute"
	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/ledger"
	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// batchRoute is a run's batch-inference route, started: the pipeline
// reads its on-demand records from source and the jobs' rows from rows.
type batchRoute struct {
	route  *batchroute.Route
	source reader.Source
	rows   pipeline.RowSource
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// wait stops watching the jobs (when the run ends first) and returns what
// went wrong watching them.
func (b *batchRoute) wait() error {
	b.cancel()
	<-b.done
	return b.err
}

// startBatchRoute plans (or re-attaches to) the run's batch-inference
// parts, submits their jobs and starts watching them in group.
func (r *Run) startBatchRoute(ctx context.Context, group *errgroup.Group, groupCtx context.Context, stop <-chan struct{}, onDemand *ledger.Filter) (*batchRoute, error) {
	cfg := r.cfg
	if r.deps.Control == nil {
		return nil, fmt.Errorf("--route %s needs the Bedrock control plane, and the run has none", cfg.Route)
	}
	opts := batchroute.Options{
		Margin:       cfg.DeadlineMargin,
		StateName:    cfg.Shard.BatchStateName(),
		RetryErrors:  cfg.RetryErrors,
		Resubmit:     cfg.BatchResubmit,
		NoOnDemand:   cfg.NoOnDemand,
		OnDemandTime: r.onDemandTime,
		Logger:       r.deps.Logger,
		Clock:        r.deps.Clock,
		Batch: batchinfer.Config{
			RunKey:       runKey(cfg),
			RoleARN:      cfg.RoleARN,
			MinRecords:   cfg.BatchMinRecords,
			MaxRecords:   cfg.BatchMaxRecords,
			MaxPartBytes: cfg.BatchMaxBytes,
			PollInterval: cfg.BatchPoll,
			// Locked-down accounts (issue 19).
			KMSKeyID:         cfg.JobKMSKeyID(),
			BucketOwner:      cfg.ExpectedBucketOwner,
			SubnetIDs:        cfg.Subnets(),
			SecurityGroupIDs: cfg.SecurityGroups(),
			Tags:             cfg.BatchTags(),
			ModelLimits:      r.batchLimits(),
		},
	}
	if cfg.Deadline != "" {
		deadline, err := config.ParseDeadline(cfg.Deadline, r.started)
		if err != nil {
			return nil, fmt.Errorf("--deadline: %w", err)
		}
		opts.Deadline = deadline
	}
	staging, err := r.deps.Storage.Dir(ctx, cfg.Staging)
	if err != nil {
		return nil, err
	}
	settled := func(id string) bool { return r.ledger.Settled(id, cfg.RetryErrors) }
	route := batchroute.New(r.deps.Control, staging, r.out, settled, opts)
	planFiles := reader.OpenFilesWith(r.deps.Storage, r.inputs).WithOptions(r.setup.reader)
	defer planFiles.Close()
	plan := &planFilter{source: planFiles, owner: cfg.Shard.Owns, settled: settled}
	if err := leanly(func() error { return route.Prepare(ctx, plan, r.setup.builder) }); err != nil {
		return nil, err
	}
	rows := make(chan *writer.Row, 256)
	watchCtx, cancel := context.WithCancel(groupCtx)
	b := &batchRoute{route: route, source: route.OnDemand(onDemand, stop), rows: batchroute.Answered(rows), cancel: cancel, done: make(chan struct{})}
	group.Go(func() error {
		defer close(b.done)
		b.err = route.Run(watchCtx, stop, rows)
		return nil
	})
	return b, nil
}

// planFilter passes the records the plan may stage: this shard's, not
// settled by the output. Duplicates and broken records are the on-demand
// pass's to report.
type planFilter struct {
	source  reader.Source
	owner   func(id string) bool
	settled func(id string) bool
}

func (p *planFilter) Next(ctx context.Context) (reader.Record, error) {
	for {
		rec, err := p.source.Next(ctx)
		if err != nil || (p.owner(rec.ID) && !p.settled(rec.ID)) {
			return rec, err
		}
	}
}

// runKey names a job's parts across re-runs: its output and shard.
func runKey(cfg *config.Config) string {
	key := cfg.Output
	if cfg.Shard.Sharded() {
		key += "#" + cfg.Shard.String()
	}
	return key
}

// describeParts counts the jobs by status, for the progress line, and the
// records unfinished jobs have processed and failed.
func describeParts(parts []batchinfer.Part) string {
	counts := map[string]int{}
	var order []string
	var records, processed, failed int64
	for _, p := range parts {
		if p.JobARN != "" && !batchinfer.Finished(p.Status) {
			records, processed, failed = records+int64(p.Records), processed+p.Processed, failed+p.Failed
		}
		status := p.Status
		if p.OnDemand {
			status = "on-demand part"
		}
		if counts[status] == 0 {
			order = append(order, status)
		}
		counts[status]++
	}
	var b strings.Builder
	b.WriteString("batch jobs:")
	for _, s := range order {
		fmt.Fprintf(&b, " %d %s", counts[s], s)
	}
	if records > 0 {
		fmt.Fprintf(&b, " (running: %d of %d records processed, %d failed)", processed, records, failed)
	}
	return b.String()
}

// batchJobsOf is what the manifest says of each part.
func batchJobsOf(parts []batchinfer.Part) []manifest.BatchJob {
	out := make([]manifest.BatchJob, len(parts))
	for i, p := range parts {
		out[i] = manifest.BatchJob{Model: p.Model, Input: p.Name, Records: p.Records, OnDemand: p.OnDemand,
			JobARN: p.JobARN, Status: p.Status, Message: p.Message, Processed: p.Processed, Failed: p.Failed}
	}
	return out
}
