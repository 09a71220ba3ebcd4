package run

import (
	"github.com/bedrock-batch/bedrock-batch/ledger"
	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/tally"
)

// buildManifest is what the output holds after the run, and what the run
// did; filter is nil when the run stopped before reading.
func (r *Run) buildManifest(runID string, filter *ledger.Filter, files []string, summary pipeline.Summary, runErr error) *manifest.Manifest {
	cfg := r.cfg
	paths := make([]string, len(r.inputs))
	for i, in := range r.inputs {
		paths[i] = in.Path
	}
	quotas := r.limiter.Report()
	var rate ratelimit.Rate // summed over models
	reports := make([]manifest.QuotaReport, len(quotas))
	for i, q := range quotas {
		rate.RequestsPerMinute += q.Rate.RequestsPerMinute
		rate.TokensPerMinute += q.Rate.TokensPerMinute
		reports[i] = manifest.QuotaReport{ModelReport: q, AchievedOfQuota: q.Utilization(), Sources: r.quotaSources(q.Model)}
	}
	thisRun := tally.Tokens{Input: summary.Tokens.Input, Output: summary.Tokens.Output, Total: summary.Tokens.Total,
		CacheRead: summary.Tokens.CacheRead, CacheWrite: summary.Tokens.CacheWrite}
	before := r.ledger.Totals
	ended := r.deps.Clock.Now()
	m := &manifest.Manifest{
		RunID:       runID,
		Shard:       cfg.Shard,
		Complete:    runErr == nil && !summary.Interrupted,
		Interrupted: summary.Interrupted,
		StartedAt:   r.started.UTC(),
		EndedAt:     ended.UTC(),
		WallSeconds: ended.Sub(r.started).Seconds(),
		Inputs:      paths,
		OutputFiles: files,
		Counts: tally.Counts{
			Records: before.Records + summary.Records,
			OK:      before.OK + summary.OK,
			Error:   before.Error + summary.Errors,
		},
		Tokens: before.Tokens.Plus(thisRun),
		ThisRun: manifest.RunCounts{Rows: summary.Records, OK: summary.OK, Error: summary.Errors,
			Unwritten: summary.Read - summary.Records, Tokens: thisRun},
		Calls: manifest.Calls{Attempts: summary.Attempts, Retries: summary.Retries, Throttled: summary.Throttled,
			SettledRequestsPerMinute: rate.RequestsPerMinute, SettledTokensPerMinute: rate.TokensPerMinute,
			LatencyMs: manifest.Latency{P50: summary.LatencyP50.Milliseconds(), P95: summary.LatencyP95.Milliseconds(), P99: summary.LatencyP99.Milliseconds()}},
		Options: cfg,
		Quotas:  reports,
	}
	if filter != nil {
		c := filter.Counts()
		m.ThisRun.AlreadyDone, m.ThisRun.AlreadyFailed, m.ThisRun.Duplicates = c.AlreadyDone, c.AlreadyFailed, c.Duplicates
	}
	if len(summary.QuotaStopped) > 0 {
		m.StoppedAtQuota = summary.QuotaStopped
		m.Complete = false
	}
	cumulative := before.Clone()
	cumulative.Merge(summary.Totals)
	m.Models, m.ServiceTiers, m.GuardrailIntervened = cumulative.Models, cumulative.ServiceTiers, cumulative.GuardrailIntervened
	m.Errors = cumulative.Errors
	if runErr != nil {
		m.Error = runErr.Error()
	}
	m.PriceModels(r.prices)
	return m
}
