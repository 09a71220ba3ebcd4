package run

import (
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/bedrock-batch/bedrock-batch/accountquota"
	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/batchroute"
	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/tally"
)

// batchLimits are each model's job limits for the batch-inference route:
// the job's own (--batch-max-records, --batch-min-records,
// --batch-max-bytes) where given, else the model's quotas from Service
// Quotas; and the model's jobs submitted or in progress. Each model's are
// logged once, when its first part is staged.
func (r *Run) batchLimits() func(model string) batchinfer.Limits {
	cfg := r.cfg
	var mu sync.Mutex
	logged := map[string]bool{}
	return func(model string) batchinfer.Limits {
		b := r.quotas.limits(model).batch
		var l batchinfer.Limits
		if cfg.BatchMaxRecords == 0 {
			l.MaxRecords = int(smallest(b.RecordsPerJob, b.RecordsPerFile).Value)
		}
		if cfg.BatchMinRecords == 0 {
			l.MinRecords = int(b.MinRecordsPerJob.Value)
		}
		if cfg.BatchMaxBytes == 0 {
			l.MaxPartBytes = smallest(b.FileBytes, b.JobBytes).Value
		}
		l.MaxJobs = int(b.JobsPerModel.Value)
		mu.Lock()
		defer mu.Unlock()
		if !logged[model] {
			logged[model] = true
			r.deps.Logger.Info("batch inference: job limits", "model", model,
				"records_per_job", jobLimit(cfg.BatchMaxRecords, smallest(b.RecordsPerJob, b.RecordsPerFile), batchinfer.DefaultMaxRecords),
				"min_records", jobLimit(cfg.BatchMinRecords, b.MinRecordsPerJob, batchinfer.DefaultMinRecords),
				"bytes_per_job", jobLimit(int(cfg.BatchMaxBytes), smallest(b.FileBytes, b.JobBytes), batchinfer.DefaultMaxPartBytes),
				"jobs_at_once", jobLimit(0, b.JobsPerModel, 0))
		}
		return l
	}
}

// smallest is the smaller of two known limits, or the known one.
func smallest(a, b accountquota.Limit) accountquota.Limit {
	if !a.Known() || (b.Known() && b.Value < a.Value) {
		return b
	}
	return a
}

// jobLimit says a job limit and where it comes from.
func jobLimit(given int, found accountquota.Limit, fallback int64) string {
	switch {
	case given > 0:
		return fmt.Sprintf("%d (flag)", given)
	case found.Known():
		return fmt.Sprintf("%d (Service Quotas: %s)", found.Value, found.Quota)
	case fallback > 0:
		return fmt.Sprintf("%d (Bedrock's default; no quota found)", fallback)
	}
	return "no limit known"
}

// onDemandTime estimates how long records of a part take on demand, and
// says on what the estimate rests. Each record counts the quota tokens the
// model's settled calls have averaged in this run, or before any settled
// its input (staged bytes / 4) and maxTokens; they go at the model's
// tokens-per-minute limit (given or from Service Quotas) times the run's
// share, else at the tokens per minute its calls have been settling at,
// else at its requests-per-minute limit; with none of these, at the worst
// case of two seconds a call over the concurrency.
func (r *Run) onDemandTime(p *batchinfer.Part, records int) (time.Duration, string) {
	if records <= 0 {
		return 0, ""
	}
	cfg := r.cfg
	limits := r.quotas.limits(p.Model)
	perRecord, measured := r.measuredPerRecord(p.Model)
	basis := fmt.Sprintf("%.0f quota tokens a record, as the model's calls settled", perRecord)
	if !measured {
		output := ratelimit.DefaultMaxOutput(p.Model)
		if cfg.MaxTokens != nil {
			output = int64(*cfg.MaxTokens)
		}
		input := float64(p.Bytes) / 4 / float64(max(p.Records, 1))
		perRecord = input + float64(output)
		basis = fmt.Sprintf("%.0f input + %d max tokens a record (no call settled yet)", input, output)
	}
	share := cfg.Share()
	if cfg.Shard.Sharded() {
		share /= float64(cfg.Shard.Count)
	}
	minutes := func(perMinute float64) time.Duration {
		return time.Duration(float64(records) / perMinute * float64(time.Minute))
	}
	switch rate := r.settledPerMinute(p.Model); {
	case limits.quota.TokensPerMinute > 0:
		tpm := float64(limits.quota.TokensPerMinute) * share
		return minutes(tpm / perRecord), fmt.Sprintf("%s at %.0f tokens/min (%s)", basis, tpm, describeLimit(limits.quota.TokensPerMinute, limits.sources.TokensPerMinute))
	case measured && rate > 0:
		return minutes(rate / perRecord), fmt.Sprintf("%s at the %.0f tokens/min they settled at (no tokens-per-minute quota known)", basis, rate)
	case limits.quota.RequestsPerMinute > 0:
		rpm := float64(limits.quota.RequestsPerMinute) * share
		return minutes(rpm), fmt.Sprintf("%.0f requests/min (%s)", rpm, describeLimit(limits.quota.RequestsPerMinute, limits.sources.RequestsPerMinute))
	}
	return time.Duration(float64(records) * 2 * float64(time.Second) / float64(max(cfg.Concurrency, 1))),
		fmt.Sprintf("no quota known and no calls yet: the worst case of 2 s a call over --concurrency %d", cfg.Concurrency)
}

// measuredPerRecord is the quota tokens the model's settled calls have
// averaged in this run, once ten have settled.
func (r *Run) measuredPerRecord(model string) (float64, bool) {
	for _, m := range r.limiter.Report() {
		if ok := m.Calls - m.Throttled - m.Failed; m.Model == model && ok >= 10 && m.SettledTokens > 0 {
			return float64(m.SettledTokens) / float64(ok), true
		}
	}
	return 0, false
}

// settledPerMinute is the quota tokens per minute the model's calls have
// been settling at (0 before any).
func (r *Run) settledPerMinute(model string) float64 {
	for _, m := range r.limiter.Report() {
		if m.Model == model {
			return m.AchievedPerMinute
		}
	}
	return 0
}

// wholeJobWarnings says which parts went on demand whole, with what they
// cost more than batch inference would have: each record at the average
// tokens of the model's on-demand rows in this run, priced on demand less
// the batch price. A deadline's parts are the auto route doing its job,
// and a warning only with --route batch-inference.
func (r *Run) wholeJobWarnings(route *batchroute.Route, thisRun tally.Totals) []manifest.WholeJobOnDemand {
	var out []manifest.WholeJobOnDemand
	for _, w := range route.WholeJobsOnDemand() {
		if w.Deadline && r.cfg.Route != config.RouteBatchInference {
			continue
		}
		j := manifest.WholeJobOnDemand{Model: w.Model, Part: w.Part, JobARN: w.JobARN, Status: w.Status, Message: w.Message,
			Records: w.Records, Deadline: w.Deadline}
		if price, ok := r.prices.Lookup(w.Model); ok {
			if m := thisRun.Models[w.Model]; m != nil {
				tokens, rows := m.Tokens, m.Records
				if m.Batch != nil {
					tokens, rows = tokens.Minus(m.Batch.Tokens), rows-m.Batch.Records
				}
				if rows > 0 {
					scale := float64(w.Records) / float64(rows)
					scaled := tally.Tokens{Input: int64(float64(tokens.Input) * scale), Output: int64(float64(tokens.Output) * scale),
						CacheRead: int64(float64(tokens.CacheRead) * scale), CacheWrite: int64(float64(tokens.CacheWrite) * scale)}
					extra := price.Cost(scaled) - price.BatchCost(scaled)
					j.ExtraCostUSD = &extra
				}
			}
		}
		out = append(out, j)
	}
	return out
}

// planGCPercent is the GOGC while the batch-inference route plans.
const planGCPercent = 50

// leanly runs the batch-inference route's plan with the garbage collector
// keeping the heap within half again of what is live (not twice), and hands
// what the plan held (16 MB of ids at a million records) back to the system
// when it ends. Nothing else of the run is going yet; without this a
// million-record plan lifts the run's peak memory by tens of megabytes
// (BENCHMARKS.md, issue 17).
func leanly(plan func() error) error {
	defer debug.FreeOSMemory()
	defer debug.SetGCPercent(debug.SetGCPercent(planGCPercent))
	return plan()
}
