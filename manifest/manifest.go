// Package manifest is what a run leaves in the output about itself: the
// manifest of each shard (what the output holds, what the run did, what it
// cost) and the status read back from the manifests.
package manifest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/prices"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/shard"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/tally"
)

// Name is the manifest's file name in the output directory; the leading
// underscore keeps it apart from data files. A shard's is its own
// (shard.Shard.ManifestName).
const Name = "_manifest.json"

// Manifest is what a shard of a job holds and what its last run did,
// written to the output when a run ends. Counts and Tokens cover every row
// of the shard in the output, from every run; ThisRun only the last run.
type Manifest struct {
	RunID       string       `json:"run_id"`
	Shard       shard.Shard  `json:"shard"`
	Complete    bool         `json:"complete"` // every record of the shard has a row
	Interrupted bool         `json:"interrupted"`
	Error       string       `json:"error,omitempty"`
	StartedAt   time.Time    `json:"started_at"`
	EndedAt     time.Time    `json:"ended_at"`
	WallSeconds float64      `json:"wall_seconds"`
	Inputs      []string     `json:"inputs"`
	OutputFiles []string     `json:"output_files"` // data files this run wrote
	Counts      tally.Counts `json:"counts"`
	Tokens      tally.Tokens `json:"tokens"`
	// CostUSD is the estimated on-demand cost of Tokens, when the model's
	// prices are known.
	CostUSD *float64 `json:"cost_usd,omitempty"`
	// CostAllOnDemandUSD is what the same tokens would have cost had every
	// row gone on demand, and SavingUSD the difference batch inference
	// made; both only when some rows went through batch inference.
	CostAllOnDemandUSD *float64 `json:"cost_all_on_demand_usd,omitempty"`
	SavingUSD          *float64 `json:"saving_usd,omitempty"`
	// Models breaks counts, tokens and cost down by model (cumulative).
	Models map[string]*tally.ModelTotals `json:"models,omitempty"`
	// UnpricedModels are models without a known price: CostUSD leaves
	// them out.
	UnpricedModels []string `json:"unpriced_models,omitempty"`
	// ServiceTiers counts ok rows by the tier that served them; guardrail
	// interventions are ok rows too (cumulative).
	ServiceTiers        map[string]int64 `json:"service_tiers,omitempty"`
	GuardrailIntervened int64            `json:"guardrail_intervened,omitempty"`
	// Errors counts the error rows by error_type, with the most common
	// message of each (cumulative).
	Errors  map[string]*tally.ErrorCount `json:"errors,omitempty"`
	ThisRun RunCounts                    `json:"this_run"`
	// Quotas says, per model, how this run used its quota: what was
	// given, what was reserved and settled (burndown included), the rate
	// achieved over the steady part, throttles, and the day's budget left.
	Quotas []QuotaReport `json:"quotas,omitempty"`
	// StoppedAtQuota says, per model, why records were left for a later
	// run: the model's daily quota is spent (exit status 4).
	StoppedAtQuota map[string]string `json:"stopped_at_quota,omitempty"`
	// BatchJobs are the run's batch-inference parts and their jobs.
	BatchJobs []BatchJob     `json:"batch_jobs,omitempty"`
	Calls     Calls          `json:"calls"`
	Options   *config.Config `json:"options"`
	// WholeJobsOnDemand are batch-inference parts none of whose records
	// a job answered, sent on demand instead (issue 17).
	WholeJobsOnDemand []WholeJobOnDemand `json:"whole_jobs_on_demand,omitempty"`
}

// WholeJobOnDemand is a part all of whose records went on demand: its
// job failed, expired or was stopped, or (Deadline) the deadline came
// before its job; ExtraCostUSD is about what that cost above the batch
// price (nil without a price).
type WholeJobOnDemand struct {
	Model        string   `json:"model"`
	Part         string   `json:"part"`
	JobARN       string   `json:"job_arn,omitempty"`
	Status       string   `json:"status,omitempty"`
	Message      string   `json:"message,omitempty"`
	Records      int      `json:"records"`
	Deadline     bool     `json:"deadline,omitempty"`
	ExtraCostUSD *float64 `json:"extra_cost_usd,omitempty"`
}

// RunCounts are what one run did.
type RunCounts struct {
	Rows        int64 `json:"rows"` // rows written
	OK          int64 `json:"ok"`
	Error       int64 `json:"error"`
	AlreadyDone int64 `json:"already_done"` // records skipped: the output already settled them
	// AlreadyFailed are the records of AlreadyDone that the output
	// settles with an error row: --retry-errors sends them again.
	AlreadyFailed int64        `json:"already_failed,omitempty"`
	Duplicates    int64        `json:"duplicate_ids"`
	Unwritten     int64        `json:"unwritten"` // read but given no row (the run stopped first)
	Tokens        tally.Tokens `json:"tokens"`
}

// Calls are the model calls of a run.
type Calls struct {
	Attempts  int64 `json:"attempts"`
	Retries   int64 `json:"retries"`
	Throttled int64 `json:"throttled"`
	// SettledRequestsPerMinute is where the adaptive rate ended: the given
	// --rpm scaled down by throttling, or the rate discovered when none was
	// given (0: no limit given and nothing throttled).
	SettledRequestsPerMinute float64 `json:"settled_requests_per_minute"`
	SettledTokensPerMinute   float64 `json:"settled_tokens_per_minute,omitempty"`
	LatencyMs                Latency `json:"latency_ms"`
}

// Latency holds percentiles of successful calls' latency in milliseconds.
type Latency struct {
	P50 int64 `json:"p50"`
	P95 int64 `json:"p95"`
	P99 int64 `json:"p99"`
}

// BatchJob is one batch-inference part: its staged input and its job.
type BatchJob struct {
	Model    string `json:"model"`
	Input    string `json:"input"`
	Records  int    `json:"records"`
	OnDemand bool   `json:"on_demand,omitempty"` // too few records for a job: sent on demand
	JobARN   string `json:"job_arn,omitempty"`
	Status   string `json:"status,omitempty"`
	Message  string `json:"message,omitempty"`
	// Processed and Failed are the job's record counts as Bedrock last
	// gave them (issue 17).
	Processed int64 `json:"processed,omitempty"`
	Failed    int64 `json:"failed,omitempty"`
}

// QuotaReport is one model's quota use in a run.
type QuotaReport struct {
	ratelimit.ModelReport
	// AchievedOfQuota is AchievedPerMinute over the tokens-per-minute
	// quota (0 without one).
	AchievedOfQuota float64 `json:"achieved_of_quota"`
	// Sources says where each of the model's limits came from (issue 17).
	Sources *LimitSources `json:"sources,omitempty"`
}

// LimitSources says where each of a model's limits came from.
type LimitSources struct {
	TokensPerMinute   LimitSource `json:"tokens_per_minute"`
	RequestsPerMinute LimitSource `json:"requests_per_minute"`
	TokensPerDay      LimitSource `json:"tokens_per_day"`
}

// LimitSource is where one limit came from: From is "flag" (a flag or the
// job file), "service-quotas" (the account's quota, Quota its name) or
// "unknown" (none: the run paced adaptively).
type LimitSource struct {
	From  string `json:"from"`
	Quota string `json:"quota,omitempty"`
}

// Write writes m to the output, as the shard's manifest and, so the
// output keeps its history, as the run's own under _runs/: a reader sees
// the old manifest or the new one, never half of one.
func Write(ctx context.Context, output storage.Dir, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding manifest: %w", err)
	}
	data = append(data, '\n')
	if m.RunID != "" {
		if err := output.Put(ctx, m.Shard.RunManifestName(m.RunID), data); err != nil {
			return err
		}
	}
	return output.Put(ctx, m.Shard.ManifestName(), data)
}

// PriceModels sets the cost of each model's tokens and their sum; models
// without a price are listed in UnpricedModels and left out of the sum
// (CostUSD stays nil when no model has a price).
func (m *Manifest) PriceModels(table *prices.Prices) {
	var total, allOnDemand float64
	priced, batch := false, false
	m.UnpricedModels = nil
	for id, t := range m.Models {
		cost, onDemand, ok := table.ModelCost(id, t)
		if !ok {
			if t.Records > 0 {
				m.UnpricedModels = append(m.UnpricedModels, id)
			}
			continue
		}
		batch = batch || t.Batch != nil
		t.CostUSD = &cost
		total += cost
		allOnDemand += onDemand
		priced = true
	}
	sort.Strings(m.UnpricedModels)
	if priced {
		m.CostUSD = &total
		if batch {
			saving := allOnDemand - total
			m.CostAllOnDemandUSD, m.SavingUSD = &allOnDemand, &saving
		}
	}
}

// NewRunID returns an id that sorts by start time and does not clash between
// runs started in the same second: 20261125T200000Z-a1b2c3.
func NewRunID(now time.Time) string {
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(suffix[:])
}

// PrintSummary writes what the run did and what the output holds, in a
// few lines; uri turns a name in the output into where it is ("" is the
// output itself).
func (m *Manifest) PrintSummary(w io.Writer, uri func(name string) string) {
	already := fmt.Sprint(m.ThisRun.AlreadyDone)
	if m.ThisRun.AlreadyFailed > 0 {
		already += fmt.Sprintf(" (%d with an error row)", m.ThisRun.AlreadyFailed)
	}
	fmt.Fprintf(w, "this run: rows %d  ok %d  error %d  already done %s  tokens in %d out %d  calls %d (retries %d, throttled %d)  latency p50 %dms p99 %dms  %.1fs\n",
		m.ThisRun.Rows, m.ThisRun.OK, m.ThisRun.Error, already, m.ThisRun.Tokens.Input, m.ThisRun.Tokens.Output,
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
	for _, j := range m.WholeJobsOnDemand {
		extra := "an unknown amount (no price for the model)"
		if j.ExtraCostUSD != nil {
			extra = fmt.Sprintf("about $%.4f", *j.ExtraCostUSD)
		}
		why := "its job ended " + j.Status
		if j.Deadline {
			why = "the deadline came first"
		}
		fmt.Fprintf(w, "warning: %d records of %s went on demand, not through batch inference (%s): %s more than the batch price\n",
			j.Records, j.Model, why, extra)
	}
	switch n := len(m.OutputFiles); n {
	case 0:
	case 1:
		fmt.Fprintf(w, "wrote 1 file to %s\n", uri(""))
	default:
		fmt.Fprintf(w, "wrote %d files to %s\n", n, uri(""))
	}
	PrintErrors(w, tally.Totals{Errors: m.Errors}, m.Counts.Error)
}
