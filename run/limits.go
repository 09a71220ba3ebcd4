package run

import (
	"fmt"
	"log/slog"

	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
)

// newLimiter builds the per-model limiter of a run from the job's quotas,
// the account's (quotas), and burndown overrides.
func newLimiter(cfg *config.Config, quotas *runQuotas) (*ratelimit.Models, error) {
	burndown, err := burndownTable(cfg)
	if err != nil {
		return nil, err
	}
	models := ratelimit.ModelsConfig{
		Default:  quotaOf(cfg.QuotaFor("")),
		PerModel: quotas.perModel(),
		Burndown: burndown,
		Share:    cfg.Share(),
	}
	if cfg.Shard.Sharded() {
		models.Share = cfg.Share() / float64(cfg.Shard.Count)
	}
	return ratelimit.NewModels(models, nil), nil
}

// burndownTable is the built-in burndown table with the job's overrides.
func burndownTable(cfg *config.Config) (ratelimit.BurndownTable, error) {
	burndown := ratelimit.DefaultBurndown()
	for _, b := range cfg.Burndown {
		pattern, factor, err := ratelimit.ParseBurndown(b)
		if err != nil {
			return burndown, fmt.Errorf("--burndown: %w", err)
		}
		burndown = burndown.With(pattern, factor)
	}
	return burndown, nil
}

func quotaOf(q config.ModelQuota) ratelimit.Quota {
	return ratelimit.Quota{RequestsPerMinute: int64(q.RequestsPerMinute), TokensPerMinute: int64(q.TokensPerMinute),
		TokensPerDay: int64(q.TokensPerDay)}
}

// warnNoMaxTokens says once what sending no maxTokens costs: Bedrock then
// reserves the model's whole maximum output against the quota when a call
// starts.
func warnNoMaxTokens(cfg *config.Config, quotas *runQuotas, logger *slog.Logger) {
	if cfg.MaxTokens != nil {
		return
	}
	model := cfg.ModelID
	q := quotas.limits(model).quota
	maxOutput := ratelimit.DefaultMaxOutput(model)
	attrs := []any{"model", model, "reserved_per_call", maxOutput}
	if n := ratelimit.MaxTokensCost(q, maxOutput); n >= 0 {
		attrs = append(attrs, "calls_admitted_at_once", n, "tpm", q.TokensPerMinute)
	}
	logger.Warn("no --max-tokens: Bedrock reserves the model's maximum output against the tokens-per-minute quota for every call; set --max-tokens to what answers need", attrs...)
}

// limitsName says what a call waiting for its quota waits for, for the
// progress display.
func limitsName(cfg *config.Config, quotas *runQuotas) string {
	q := quotas.limits(cfg.ModelID).quota
	switch {
	case q.TokensPerMinute > 0 || len(cfg.Quotas) > 0:
		return "tokens per minute"
	case q.RequestsPerMinute > 0:
		return "requests per minute"
	}
	return "the quota found by throttling"
}

// reportFit says in the run header how many calls in flight the quota
// holds against --concurrency, and has the limiter warn once per model
// when the concurrency is far from it.
func (r *Run) reportFit(logger *slog.Logger) {
	var calls ratelimit.Reservation // what the header knows of them: maxTokens
	if r.cfg.MaxTokens != nil {
		calls.MaxTokens = int64(*r.cfg.MaxTokens)
	}
	if fit := r.limiter.Fit(r.cfg.ModelID, calls, r.cfg.Concurrency).String(); fit != "" {
		logger.Info(fit, "model", r.cfg.ModelID)
	}
	r.limiter.AdviseConcurrency(r.cfg.Concurrency, func(model, advice string) { logger.Warn(advice, "model", model) })
}
