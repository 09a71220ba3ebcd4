package run

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/internal/fakeclock"
	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
)

const haiku = "anthropic.claude-3-haiku-20240307-v1:0"

// quotaDeps are Deps whose Service Quotas and control-plane clients (the SDK's) talk to an
// emulator with this account.
func quotaDeps(t *testing.T, account *bedrocktest.AccountQuotas, log *bytes.Buffer) Deps {
	t.Helper()
	srv := bedrocktest.NewServer(bedrocktest.Options{Account: account})
	t.Cleanup(srv.Close)
	creds := credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")
	return Deps{
		Quotas:  servicequotas.New(servicequotas.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Credentials: creds, Retryer: aws.NopRetryer{}}),
		Catalog: bedrock.New(bedrock.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Credentials: creds, Retryer: aws.NopRetryer{}}),
		Logger:  slog.New(slog.NewTextHandler(log, nil)),
	}
}

// TestLimitsComeFromFlagsThenServiceQuotas: a model's limit is the job's own where it gives
// one (for the model, then for every model), else the account's quota for the model as it
// is called, else unknown; the log says which for each.
func TestLimitsComeFromFlagsThenServiceQuotas(t *testing.T) {
	var log bytes.Buffer
	deps := quotaDeps(t, &bedrocktest.AccountQuotas{CrossModelTokensPerDay: 5_000_000, Models: map[string]bedrocktest.ModelQuotas{
		haiku: {TokensPerMinute: 37_000, CrossRegionTokensPerMinute: 74_000, TokensPerDay: 1_000_000},
	}}, &log)
	cfg := &config.Config{ModelID: haiku, TokensPerDay: 500, Quotas: map[string]config.ModelQuota{"us." + haiku: {TokensPerDay: 900}}}
	q := readQuotas(context.Background(), cfg, deps)
	if q.err != nil {
		t.Fatal(q.err)
	}
	sq := func(name string) manifest.LimitSource {
		return manifest.LimitSource{From: fromServiceQuotas, Quota: name}
	}
	flag, unknown := manifest.LimitSource{From: fromFlag}, manifest.LimitSource{From: fromUnknown}
	for _, tt := range []struct {
		model   string
		quota   ratelimit.Quota
		sources manifest.LimitSources
	}{
		{haiku, ratelimit.Quota{TokensPerMinute: 37_000, TokensPerDay: 500},
			manifest.LimitSources{TokensPerMinute: sq("On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku"), RequestsPerMinute: unknown, TokensPerDay: flag}},
		{"us." + haiku, ratelimit.Quota{TokensPerMinute: 74_000, TokensPerDay: 900},
			manifest.LimitSources{TokensPerMinute: sq("Cross-Region InvokeModel tokens per minute for Anthropic Claude 3 Haiku"), RequestsPerMinute: unknown, TokensPerDay: flag}},
		{"amazon.nova-lite-v1:0", ratelimit.Quota{TokensPerDay: 500},
			manifest.LimitSources{TokensPerMinute: unknown, RequestsPerMinute: unknown, TokensPerDay: flag}},
	} {
		l := q.limits(tt.model)
		if l.quota != tt.quota || l.sources != tt.sources {
			t.Errorf("%s: %+v from %+v\nwant %+v from %+v", tt.model, l.quota, l.sources, tt.quota, tt.sources)
		}
	}
	// The limiter's table holds every model id the account names, not only the job's.
	per := q.perModel()
	if per["global."+haiku].TokensPerMinute != 74_000 || per[haiku].TokensPerMinute != 37_000 {
		t.Errorf("perModel: %+v", per)
	}
	if q.crossModelTokensPerDay().Value != 5_000_000 {
		t.Errorf("cross-model tokens per day %+v", q.crossModelTokensPerDay())
	}
	q.logQuotas(deps.Logger)
	for _, want := range []string{`tpm="37000 (Service Quotas: On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku)"`,
		`rpm=unknown`, `tpd="500 (flag)"`, `account_tpd="5000000 (Service Quotas: Cross-Model Max Tokens Per Day)"`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log does not say %s:\n%s", want, log.String())
		}
	}
}

// TestQuotasDenied: without permission the run paces adaptively, and says so once with the
// action to allow.
func TestQuotasDenied(t *testing.T) {
	var log bytes.Buffer
	deps := quotaDeps(t, &bedrocktest.AccountQuotas{Denied: true, Models: map[string]bedrocktest.ModelQuotas{haiku: {TokensPerMinute: 37_000}}}, &log)
	cfg := &config.Config{ModelID: haiku}
	q := readQuotas(context.Background(), cfg, deps)
	if q.limits(haiku).quota != (ratelimit.Quota{}) {
		t.Errorf("limits without the quotas: %+v", q.limits(haiku))
	}
	q.logQuotas(deps.Logger)
	if n := strings.Count(log.String(), "pacing adaptively"); n != 1 || !strings.Contains(log.String(), "allow servicequotas:ListServiceQuotas") {
		t.Errorf("%d lines say the run paces adaptively; want one naming the action:\n%s", n, log.String())
	}
}

// TestNoQuotaForTheModel: the account lists quotas, but none for the model: adaptive pacing,
// and a line saying which names were looked for.
func TestNoQuotaForTheModel(t *testing.T) {
	var log bytes.Buffer
	deps := quotaDeps(t, &bedrocktest.AccountQuotas{Models: map[string]bedrocktest.ModelQuotas{haiku: {CrossRegionTokensPerMinute: 74_000}}}, &log)
	q := readQuotas(context.Background(), &config.Config{ModelID: haiku}, deps)
	q.logQuotas(deps.Logger)
	if !strings.Contains(log.String(), "lists no tokens-per-minute quota") || !strings.Contains(log.String(), "anthropic claude 3 haiku") {
		t.Errorf("log:\n%s", log.String())
	}
}

// countingLimiter admits every call and counts how its tickets settle.
type countingLimiter struct{ done, other int }

func (c *countingLimiter) Wait(context.Context, string, ratelimit.Reservation) (pipeline.Ticket, error) {
	return countingTicket{c}, nil
}
func (c *countingLimiter) EstimateInput(_ string, n int64) int64 { return n }

type countingTicket struct{ c *countingLimiter }

func (t countingTicket) Done(ratelimit.Usage) { t.c.done++ }
func (t countingTicket) Throttled()           { t.c.other++ }
func (t countingTicket) Failed()              { t.c.other++ }
func (t countingTicket) DailyQuotaExhausted() { t.c.other++ }

// TestAccountBudget: calls of every model share the account's day, charged what they may
// settle to while in flight and what they used after; the day starts again after 24 hours.
func TestAccountBudget(t *testing.T) {
	clock := fakeclock.New(time.Unix(0, 0))
	inner := &countingLimiter{}
	b := &accountBudget{inner: inner, limit: 1000, quota: "Cross-Model Max Tokens Per Day", clock: clock, start: clock.Now(),
		burndown:  func(model string) float64 { return map[string]float64{"five": 5}[model] + 1 },
		maxOutput: func(string) int64 { return 300 }}
	ctx := context.Background()
	// Model "a" (burndown 1): 100 input + 200 maxTokens = 300 charged.
	t1, err := b.Wait(ctx, "a", ratelimit.Reservation{InputTokens: 100, MaxTokens: 200})
	if err != nil {
		t.Fatal(err)
	}
	// Model "five" (burndown 6 here): 50 + 100 × 6 = 650: 950 in flight, fits.
	t2, err := b.Wait(ctx, "five", ratelimit.Reservation{InputTokens: 50, MaxTokens: 100})
	if err != nil {
		t.Fatal(err)
	}
	// No maxTokens: the model's maximum output, 300, is charged: over the day.
	if _, err := b.Wait(ctx, "a", ratelimit.Reservation{InputTokens: 10}); !errors.Is(err, ratelimit.ErrDailyBudget) {
		t.Fatalf("a call over the day: %v", err)
	}
	t1.Done(ratelimit.Usage{InputTokens: 100, OutputTokens: 20}) // 120 used
	t2.Throttled()                                               // nothing used
	if b.used != 120 || b.inFlight != 0 {
		t.Errorf("used %v, in flight %v; want 120 and 0", b.used, b.inFlight)
	}
	t1.Failed() // a second settlement of the same ticket changes nothing here
	if b.used != 120 || inner.done != 1 || inner.other != 2 {
		t.Errorf("used %v, inner done %d other %d", b.used, inner.done, inner.other)
	}
	if _, err := b.Wait(ctx, "a", ratelimit.Reservation{InputTokens: 580, MaxTokens: 300}); err != nil {
		t.Fatalf("880 more within a day of 1000 with 120 used: %v", err)
	}
	if _, err := b.Wait(ctx, "a", ratelimit.Reservation{InputTokens: 1, MaxTokens: 1}); !errors.Is(err, ratelimit.ErrDailyBudget) {
		t.Fatalf("1000 used or in flight, yet a call fits: %v", err)
	}
	// A new day: the 880 of the call still in flight stay charged, and 2 more fit.
	clock.Advance(24 * time.Hour)
	if _, err := b.Wait(ctx, "a", ratelimit.Reservation{InputTokens: 1, MaxTokens: 1}); err != nil {
		t.Fatalf("a new day: %v", err)
	}
}
