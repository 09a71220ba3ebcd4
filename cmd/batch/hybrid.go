package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	bedrockctl "github.com/aws/aws-sdk-go-v2/service/bedrock"

	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/jobs"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/route"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// newControl is the Bedrock control-plane client batch inference uses.
func newControl(awsConfig aws.Config, cfg *jobs.Config) *bedrockctl.Client {
	return bedrockctl.NewFromConfig(awsConfig, func(o *bedrockctl.Options) {
		if cfg.ControlEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.ControlEndpoint)
		}
	})
}

// hybrid is a run's batch-inference route, started.
type hybrid struct {
	route  *route.Route
	source pipeline.Source
	rows   pipeline.RowSource
	cancel context.CancelFunc
	done   sync.WaitGroup
	err    error
}

// wait stops watching the jobs (when the run ends first) and returns
// what went wrong watching them.
func (h *hybrid) wait() error {
	h.cancel()
	h.done.Wait()
	return h.err
}

// startHybrid plans (or re-attaches to) the run's batch-inference parts,
// submits their jobs and starts watching them; the pipeline then reads
// its on-demand records and the jobs' rows from it.
func startHybrid(ctx context.Context, stop <-chan struct{}, cfg *jobs.Config, started time.Time, store *storage, control batchinfer.Control,
	out *outputLocation, ledger *jobs.Ledger, inputs []reader.Input, setup *requestSetup, onDemand *jobs.Filter, logger *slog.Logger) (*hybrid, error) {
	opts := route.Options{
		Mode:         cfg.Route,
		Margin:       cfg.DeadlineMargin,
		StateName:    cfg.Shard.BatchStateName(),
		RetryErrors:  cfg.RetryErrors,
		Resubmit:     cfg.BatchResubmit,
		OnDemandTime: onDemandTime(cfg),
		Logger:       logger,
		Batch: batchinfer.Config{
			RunKey:       runKey(cfg),
			RoleARN:      cfg.RoleARN,
			MinRecords:   cfg.BatchMinRecords,
			MaxRecords:   cfg.BatchMaxRecords,
			MaxPartBytes: cfg.BatchMaxBytes,
			PollInterval: cfg.BatchPoll,
		},
	}
	if cfg.Deadline != "" {
		deadline, err := jobs.ParseDeadline(cfg.Deadline, started)
		if err != nil {
			return nil, fmt.Errorf("--deadline: %w", err)
		}
		opts.Deadline = deadline
	}
	settled := func(id string) bool { return ledger.Settled(id, cfg.RetryErrors) }
	r := route.New(control, newStagingStore(store, cfg.Staging), out, settled, opts)
	planFiles := reader.OpenFilesWith(store, inputs).WithOptions(setup.reader)
	defer planFiles.Close()
	plan := &planFilter{source: planFiles, shard: cfg.Shard, settled: settled}
	if err := r.Prepare(ctx, plan, setup.builder); err != nil {
		return nil, err
	}
	rows := make(chan *writer.Row, 256)
	watchCtx, cancel := context.WithCancel(ctx)
	h := &hybrid{route: r, source: r.OnDemand(onDemand, stop), rows: route.Answered(rows), cancel: cancel}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		h.err = r.Run(watchCtx, stop, rows)
	}()
	return h, nil
}

// planFilter passes the records the plan may stage: this shard's, not
// settled by the output. Duplicates and broken records are the on-demand
// pass's to report.
type planFilter struct {
	source  jobs.Source
	shard   jobs.Shard
	settled func(string) bool
}

func (p *planFilter) Next(ctx context.Context) (reader.Record, error) {
	for {
		rec, err := p.source.Next(ctx)
		if err != nil || (p.shard.Owns(rec.ID) && !p.settled(rec.ID)) {
			return rec, err
		}
	}
}

// runKey names a job's parts across re-runs: its output and shard.
func runKey(cfg *jobs.Config) string {
	key := cfg.Output
	if cfg.Shard.Sharded() {
		key += "#" + cfg.Shard.String()
	}
	return key
}

// onDemandTime estimates how long a part's records take on demand at the
// model's quota: each reserves its input (staged bytes / 4) and maxTokens;
// without a tokens-per-minute quota, the requests-per-minute one; without
// either, two seconds a call over the concurrency.
func onDemandTime(cfg *jobs.Config) func(p *batchinfer.Part) time.Duration {
	return func(p *batchinfer.Part) time.Duration {
		q := cfg.QuotaFor(p.Model)
		output := ratelimit.DefaultMaxOutput(p.Model)
		if cfg.MaxTokens != nil {
			output = int64(*cfg.MaxTokens)
		}
		tokens := float64(p.Bytes)/4 + float64(p.Records)*float64(output)
		switch {
		case q.TokensPerMinute > 0:
			return time.Duration(tokens / float64(q.TokensPerMinute) * float64(time.Minute))
		case q.RequestsPerMinute > 0:
			return time.Duration(float64(p.Records) / float64(q.RequestsPerMinute) * float64(time.Minute))
		}
		return time.Duration(float64(p.Records) * 2 * float64(time.Second) / float64(max(cfg.Concurrency, 1)))
	}
}

// describeParts counts the jobs by status, for the progress line.
func describeParts(parts []batchinfer.Part) string {
	counts := map[string]int{}
	var order []string
	for _, p := range parts {
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
	return b.String()
}

// batchJobsOf is what the manifest says of each part.
func batchJobsOf(parts []batchinfer.Part) []jobs.BatchJob {
	out := make([]jobs.BatchJob, len(parts))
	for i, p := range parts {
		out[i] = jobs.BatchJob{Model: p.Model, Input: p.Name, Records: p.Records, OnDemand: p.OnDemand,
			JobARN: p.JobARN, Status: p.Status, Message: p.Message}
	}
	return out
}
