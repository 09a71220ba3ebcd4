package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/request"
)

// BenchmarkModelQuotas runs records at quotas counted as Bedrock counts
// them: a Claude 4 profile whose output counts five times (with the
// burndown table, and with it switched off), and one input that mixes two
// models with quotas of their own. It reports, per model, the quota tokens
// the emulator settled per minute of the run over the quota, and throttled
// calls per record.
func BenchmarkModelQuotas(b *testing.B) {
	const (
		claude4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"
		nova    = "us.amazon.nova-lite-v1:0"
	)
	maxTokens := int32(40)
	cases := []struct {
		name     string
		quotas   map[string]int64 // tokens per minute
		models   []string         // records go to these in turn
		burndown ratelimit.BurndownTable
	}{
		{"burndown", map[string]int64{claude4: 108_000}, []string{claude4}, ratelimit.DefaultBurndown()},
		{"burndown-off", map[string]int64{claude4: 108_000}, []string{claude4}, ratelimit.DefaultBurndown().With("*", 1)},
		{"two-models", map[string]int64{claude4: 54_000, nova: 12_000}, []string{claude4, nova}, ratelimit.DefaultBurndown()},
		{"nova-only", map[string]int64{nova: 12_000}, []string{nova}, ratelimit.DefaultBurndown()},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				emulated := map[string]bedrocktest.Quota{}
				limits := map[string]ratelimit.Quota{}
				for id, tpm := range c.quotas {
					emulated[id] = bedrocktest.Quota{TokensPerMinute: int(tpm)}
					limits[id] = ratelimit.Quota{TokensPerMinute: tpm}
				}
				m, srv := model(b, bedrocktest.Options{ModelQuotas: emulated, Burndown: bedrocktest.ClaudeBurndown,
					Latency: 100 * time.Millisecond, QuotaBurst: 2 * time.Second})
				recs := records(600)
				for i := range recs {
					recs[i].ModelID = c.models[i%len(c.models)]
				}
				run := pipeline.New(&sliceSource{records: recs}, m, &memorySink{}, pipeline.Options{
					Concurrency: 32,
					Requests:    request.New(request.Options{ModelID: claude4, Inference: bedrock.InferenceConfig{MaxTokens: &maxTokens}}),
					Limiter:     pipeline.RateLimited(ratelimit.NewModels(ratelimit.ModelsConfig{PerModel: limits, Burndown: c.burndown}, nil)),
				})
				start := time.Now()
				summary, err := run.Run(context.Background(), make(chan struct{}))
				if err != nil || summary.OK != int64(len(recs)) {
					b.Fatalf("%v; %d ok of %d", err, summary.OK, len(recs))
				}
				minutes := time.Since(start).Minutes()
				stats := srv.ModelStats()
				for id, tpm := range c.quotas {
					short := "claude4"
					if id == nova {
						short = "nova"
					}
					b.ReportMetric(float64(stats[id].QuotaTokensSettled)/minutes/float64(tpm), "achieved/quota-"+short)
					b.ReportMetric(float64(stats[id].Throttled)/float64(stats[id].OK), "throttled/record-"+short)
				}
			}
		})
	}
}
