package ratelimit

import (
	"strings"
	"testing"
	"time"
)

func TestFit(t *testing.T) {
	tests := []struct {
		name      string
		fit       Fit
		perSecond float64
		inFlight  float64
		advice    string // a phrase the advice holds; "" for none
		says      string // a phrase String holds
	}{
		{"tokens: 1,000 a second over 100 reserved", Fit{Quota: Quota{TokensPerMinute: 60000}, Reservation: 100, Latency: 2 * time.Second, Concurrency: 30},
			10, 20, "", "about 20.0 calls in flight (60000 tokens/min ÷ 100 tokens reserved a call, × 2s a call)"},
		{"settled tokens, once known, instead", Fit{Quota: Quota{TokensPerMinute: 60000}, Reservation: 100, Settled: 50, Latency: 2 * time.Second, Concurrency: 40},
			20, 40, "", "÷ 50 tokens settled a call"},
		{"requests per minute, when fewer", Fit{Quota: Quota{RequestsPerMinute: 300, TokensPerMinute: 60000}, Reservation: 100, Latency: time.Second, Concurrency: 8},
			5, 5, "", "300 requests/min"},
		{"far above: the extra workers only wait", Fit{Quota: Quota{TokensPerMinute: 37000}, Reservation: 106, Latency: 100 * time.Millisecond, Concurrency: 64},
			37000.0 / 60 / 106, 37000.0 / 60 / 106 / 10, "the extra workers only wait", "0.6 calls in flight"},
		{"below: the quota cannot be reached", Fit{Quota: Quota{TokensPerMinute: 600000}, Reservation: 100, Latency: 2 * time.Second, Concurrency: 64},
			100, 200, "cannot reach the quota, raise the concurrency to about 200", "about 200.0 calls in flight"},
		{"no latency yet: per second a call takes, no advice", Fit{Quota: Quota{TokensPerMinute: 60000}, Reservation: 100, Concurrency: 64},
			10, 0, "", "about 10.0 calls in flight per second a call takes (60000 tokens/min ÷ 100 tokens reserved a call); " +
				"concurrency 64 reaches it while a call takes under 6.4s, and at under 1.6s a call most workers only wait"},
		{"before the input is read: at most", Fit{Quota: Quota{TokensPerMinute: 60000}, Reservation: 64, WithoutInput: true},
			60000.0 / 60 / 64, 0, "", "at most 15.6 calls in flight per second a call takes (60000 tokens/min ÷ 64 maxTokens, input on top, a call)"},
		{"no quota", Fit{Reservation: 100, Latency: time.Second, Concurrency: 64}, 0, 0, "", ""},
		// 5,520 tokens a minute hold 184 in two seconds: a call of 1,088
		// starts only into a full bucket.
		{"a reservation larger than Bedrock's bucket, before any call", Fit{Quota: Quota{TokensPerMinute: 5520}, Reservation: 1088},
			5520.0 / 60 / 1088, 0, "", "more than the 184 (2 s of quota) Bedrock's bucket holds at the least: calls start one at a time"},
		// 88,320 a minute, 1,066 reserved and 57.5 settled, 2 s a call: 37 s
		// of quota in flight at the quota.
		{"reserving 18 times what calls settle", Fit{Quota: Quota{TokensPerMinute: 88320}, Reservation: 1066, Settled: 57.5, Latency: 2 * time.Second, Concurrency: 64},
			88320.0 / 60 / 57.5, 88320.0 / 60 / 57.5 * 2, "hold 37s of quota, built up from quota left unused, so the run nears the quota only after about 1m51s; lower --max-tokens", "about 51.2 calls in flight"},
		{"reserving twice what calls settle", Fit{Quota: Quota{TokensPerMinute: 88320}, Reservation: 115, Settled: 57.5, Latency: 2 * time.Second, Concurrency: 64},
			88320.0 / 60 / 57.5, 88320.0 / 60 / 57.5 * 2, "", "about 51.2 calls in flight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fit.PerSecond(); abs(got-tt.perSecond) > 1e-9 {
				t.Errorf("PerSecond %v, want %v", got, tt.perSecond)
			}
			if got := tt.fit.InFlight(); abs(got-tt.inFlight) > 1e-9 {
				t.Errorf("InFlight %v, want %v", got, tt.inFlight)
			}
			advice := tt.fit.Advice()
			if (tt.advice == "") != (advice == "") || !strings.Contains(advice, tt.advice) {
				t.Errorf("Advice %q, want one with %q", advice, tt.advice)
			}
			if s := tt.fit.String(); !strings.Contains(s, tt.says) || (tt.says == "") != (s == "") {
				t.Errorf("String %q, want one with %q", s, tt.says)
			}
		})
	}
}

func abs(x float64) float64 { return max(x, -x) }

// TestAdviseConcurrency: once enough calls of a model have settled, their
// latency, reservation and settled tokens judge the concurrency against
// this worker's share of the model's quota, and a far-off concurrency is
// told once.
func TestAdviseConcurrency(t *testing.T) {
	tests := []struct {
		share float64
		want  string
	}{
		// 100,000 tokens a second over 50 settled a call, 2 s a call:
		// 4,000 calls in flight at the quota, against 8 workers.
		{1, "about 4000.0 calls in flight"},
		{0.25, "about 1000.0 calls in flight"},
	}
	for _, tt := range tests {
		clock := newFakeClock()
		m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 6_000_000}, Share: tt.share}, clock)
		var told []string
		m.AdviseConcurrency(8, func(model, advice string) { told = append(told, model+": "+advice) })
		for i := range fitCalls + 5 {
			ticket := admitNow(t, m, "amazon.nova-pro-v1:0", Reservation{InputTokens: 40, MaxTokens: 60})
			clock.advance(2 * time.Second)
			ticket.Done(Usage{InputTokens: 40, OutputTokens: 10})
			if i < fitCalls-1 && len(told) > 0 {
				t.Fatalf("told after %d calls: %v", i+1, told)
			}
		}
		if len(told) != 1 || !strings.Contains(told[0], "amazon.nova-pro-v1:0: concurrency 8 is below") || !strings.Contains(told[0], tt.want) {
			t.Fatalf("share %v: told %q, want once that 8 is below, %s", tt.share, told, tt.want)
		}
	}
}

func TestModelsFit(t *testing.T) {
	m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: 120000}, Share: 0.5}, newFakeClock())
	tests := []struct {
		name string
		r    Reservation
		want string
	}{
		{"input known", Reservation{InputTokens: 40, MaxTokens: 60}, "about 10.0 calls in flight per second a call takes (60000 tokens/min ÷ 100 tokens reserved a call)"},
		{"before the input is read", Reservation{MaxTokens: 100}, "at most 10.0 calls in flight per second a call takes (60000 tokens/min ÷ 100 maxTokens, input on top, a call)"},
		{"no maxTokens: the model's maximum output", Reservation{InputTokens: 1000}, "÷ 65000 tokens reserved a call"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Fit("us.anthropic.claude-sonnet-4-20250514-v1:0", tt.r, 16).String(); !strings.Contains(got, tt.want) {
				t.Errorf("%q, want it to say %q", got, tt.want)
			}
		})
	}
}
