package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/bedrock-batch/bedrock-batch/accountquota"
	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
)

// quotaReadTimeout bounds reading the account's quotas at start: a Service
// Quotas endpoint that does not answer must not hold up the run, which can
// always pace adaptively.
const quotaReadTimeout = 20 * time.Second

// Where a limit came from, as the run header and the manifest say.
const (
	fromFlag          = "flag" // a flag or the job file
	fromServiceQuotas = "service-quotas"
	fromUnknown       = "unknown"
)

// runQuotas are the account's quotas as read at start (or why they were
// not), under the job's own limits, which override them.
type runQuotas struct {
	cfg     *config.Config
	account *accountquota.Account // nil when not read
	err     error                 // why not, when there was a client to read them
}

// readQuotas reads the account's quotas once (ListServiceQuotas, and the
// model names they use), and resolves the application inference profiles
// the job names. Without a client nothing is read. A failure is kept, not
// returned: the run then paces adaptively (what logQuotas says).
func readQuotas(ctx context.Context, cfg *config.Config, deps Deps) *runQuotas {
	q := &runQuotas{cfg: cfg}
	if deps.Quotas == nil {
		return q
	}
	ctx, cancel := context.WithTimeout(ctx, quotaReadTimeout)
	defer cancel()
	q.account, q.err = accountquota.Read(ctx, deps.Quotas, deps.Catalog)
	if q.account != nil {
		q.account.Resolve(ctx, append([]string{cfg.ModelID}, cfg.QuotaModels()...))
	}
	return q
}

// modelLimits are one model's limits and where each came from.
type modelLimits struct {
	quota   ratelimit.Quota
	sources manifest.LimitSources
	batch   accountquota.Limits // the account's, for the batch-inference route
}

// limits resolves a model's limits: the job's own where it gives one (per
// model, then for every model), else the account's quota that binds the
// model as it is called, else none (adaptive pacing).
func (q *runQuotas) limits(model string) modelLimits {
	own := q.cfg.QuotaFor(model)
	var account accountquota.Limits
	if q.account != nil {
		account = q.account.For(model)
	}
	var l modelLimits
	l.batch = account
	pick := func(given int, found accountquota.Limit, value *int64, source *manifest.LimitSource) {
		switch {
		case given > 0:
			*value, *source = int64(given), manifest.LimitSource{From: fromFlag}
		case found.Known():
			*value, *source = found.Value, manifest.LimitSource{From: fromServiceQuotas, Quota: found.Quota}
		default:
			*source = manifest.LimitSource{From: fromUnknown}
		}
	}
	pick(own.TokensPerMinute, account.TokensPerMinute, &l.quota.TokensPerMinute, &l.sources.TokensPerMinute)
	pick(own.RequestsPerMinute, account.RequestsPerMinute, &l.quota.RequestsPerMinute, &l.sources.RequestsPerMinute)
	pick(own.TokensPerDay, account.TokensPerDay, &l.quota.TokensPerDay, &l.sources.TokensPerDay)
	return l
}

// perModel is the limiter's table: every model the job names, and every
// model id the account's quotas name (records may name any model), each at
// its resolved limits.
func (q *runQuotas) perModel() map[string]ratelimit.Quota {
	ids := append([]string{q.cfg.ModelID}, q.cfg.QuotaModels()...)
	if q.account != nil {
		ids = append(ids, q.account.Models()...)
	}
	out := make(map[string]ratelimit.Quota, len(ids))
	for _, id := range ids {
		out[id] = q.limits(id).quota
	}
	return out
}

// crossModelTokensPerDay is the account's daily tokens over every model:
// 0 when unknown.
func (q *runQuotas) crossModelTokensPerDay() accountquota.Limit {
	if q.account == nil {
		return accountquota.Limit{}
	}
	return q.account.CrossModelTokensPerDay()
}

// logQuotas says, for each model the job names, every limit and where it
// came from; and, when the quotas could not be read or name no
// tokens-per-minute quota for a model, that the run paces adaptively and
// what to do about it.
func (q *runQuotas) logQuotas(logger *slog.Logger) {
	models := append([]string{q.cfg.ModelID}, q.cfg.QuotaModels()...)
	for _, model := range dedupe(models) {
		l := q.limits(model)
		logger.Info("limits", "model", model,
			"tpm", describeLimit(l.quota.TokensPerMinute, l.sources.TokensPerMinute),
			"rpm", describeLimit(l.quota.RequestsPerMinute, l.sources.RequestsPerMinute),
			"tpd", describeLimit(l.quota.TokensPerDay, l.sources.TokensPerDay),
			"share", q.cfg.Share())
	}
	if day := q.crossModelTokensPerDay(); day.Known() {
		logger.Info("limits", "account_tpd", describeLimit(day.Value, manifest.LimitSource{From: fromServiceQuotas, Quota: day.Quota}))
	}
	switch {
	case q.err != nil && errors.Is(q.err, accountquota.ErrDenied):
		logger.Warn(fmt.Sprintf("the account's quotas could not be read (access denied): pacing adaptively from what Bedrock throttles; allow %s to the run's role, or give --tpm and --tpd", accountquota.ListAction),
			"error", q.err)
	case q.err != nil:
		logger.Warn("the account's quotas could not be read: pacing adaptively from what Bedrock throttles; give --tpm and --tpd, or check that Service Quotas can be reached (--service-quotas-endpoint)",
			"error", q.err)
	case q.account != nil:
		for _, model := range dedupe(models) {
			if l := q.limits(model); l.sources.TokensPerMinute.From == fromUnknown {
				logger.Warn("Service Quotas lists no tokens-per-minute quota for the model as it is called: pacing adaptively from what Bedrock throttles; give --tpm MODEL=N",
					"model", model, "names_looked_for", strings.Join(q.account.DisplayNames(model), "; "))
			}
		}
		for _, note := range q.account.Notes {
			logger.Info("quotas: " + note)
		}
	}
}

func describeLimit(value int64, source manifest.LimitSource) string {
	switch source.From {
	case fromUnknown:
		return "unknown"
	case fromServiceQuotas:
		return fmt.Sprintf("%d (Service Quotas: %s)", value, source.Quota)
	}
	return fmt.Sprintf("%d (%s)", value, source.From)
}

func dedupe(ids []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// setShare sets the limiter's share of every quota: the siblings' share
// (1/N of a job's quota for one of N shards, more as siblings finish)
// times --quota-share.
func (r *Run) setShare(shardShare float64) {
	r.limiter.SetShare(shardShare * r.cfg.Share())
}

// quotaSources says where each used model's limits came from, for the
// manifest.
func (r *Run) quotaSources(model string) *manifest.LimitSources {
	s := r.quotas.limits(model).sources
	return &s
}

// describeLimits prints each model's limits and where they came from: the
// models the job names, then those its records name.
func (s *Survey) describeLimits(w io.Writer) {
	models := append([]string{s.cfg.ModelID}, s.cfg.QuotaModels()...)
	for id := range s.Models {
		models = append(models, id)
	}
	sort.Strings(models[1:])
	for _, model := range dedupe(models) {
		l := s.quotas.limits(model)
		fmt.Fprintf(w, "  limits of %s: tokens/min %s, requests/min %s, tokens/day %s\n", model,
			describeLimit(l.quota.TokensPerMinute, l.sources.TokensPerMinute),
			describeLimit(l.quota.RequestsPerMinute, l.sources.RequestsPerMinute),
			describeLimit(l.quota.TokensPerDay, l.sources.TokensPerDay))
	}
	switch {
	case s.quotas.err != nil && errors.Is(s.quotas.err, accountquota.ErrDenied):
		fmt.Fprintf(w, "  the account's quotas could not be read (access denied): allow %s, or give --tpm and --tpd; a run paces adaptively\n", accountquota.ListAction)
	case s.quotas.err != nil:
		fmt.Fprintf(w, "  the account's quotas could not be read (%v): give --tpm and --tpd; a run paces adaptively\n", s.quotas.err)
	}
}
