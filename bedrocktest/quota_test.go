package bedrocktest

import (
	"testing"
	"time"
)

func TestQuotaBuckets(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type step struct {
		ms      int
		reserve int64
		settle  int64 // if > 0: settle the previous admitted reservation to this
		want    string
	}
	tests := []struct {
		name  string
		opts  Options
		steps []step
	}{
		{"rpm capacity then refill", Options{RequestsPerMinute: 120, QuotaBurst: 1500 * time.Millisecond}, []step{
			// capacity 3, refills 2 per second
			{ms: 0, want: ""}, {ms: 0, want: ""}, {ms: 0, want: ""}, {ms: 0, want: msgThrottledRPM},
			{ms: 400, want: msgThrottledRPM}, {ms: 500, want: ""}, {ms: 600, want: msgThrottledRPM},
		}},
		{"rpm never below one request", Options{RequestsPerMinute: 1, QuotaBurst: time.Second}, []step{
			{ms: 0, want: ""}, {ms: 1000, want: msgThrottledRPM}, {ms: 60000, want: ""},
		}},
		{"tpm reserves then settles", Options{TokensPerMinute: 6000, QuotaBurst: 10 * time.Second}, []step{
			// capacity 1000, refills 100 per second
			{ms: 0, reserve: 600, want: ""}, {ms: 0, reserve: 600, want: msgThrottledTPM},
			{ms: 0, reserve: 600, settle: 100, want: ""}, // 500 given back: 900 left, then 300
			{ms: 0, reserve: 400, want: msgThrottledTPM},
			{ms: 1000, reserve: 400, want: ""},
		}},
		{"oversized reservation admitted into a full bucket", Options{TokensPerMinute: 600, QuotaBurst: 10 * time.Second}, []step{
			// capacity 100, refills 10 per second
			{ms: 0, reserve: 4096, want: ""}, {ms: 1000, reserve: 1, want: msgThrottledTPM},
			{ms: 409000, reserve: 4096, want: msgThrottledTPM}, {ms: 410000, reserve: 4096, want: ""},
		}},
		{"default burst: two seconds", Options{RequestsPerMinute: 60}, []step{
			{}, {}, {want: msgThrottledRPM},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQuota(tt.opts, t0)
			var last int64
			for i, s := range tt.steps {
				if s.settle > 0 {
					q.settle(at(s.ms), testModel, last, float64(s.settle))
				}
				got := q.admit(at(s.ms), testModel, s.reserve)
				if got != s.want {
					t.Fatalf("step %d (%+v): admit = %q, want %q", i, s, got, s.want)
				}
				if got == "" {
					last = s.reserve
				}
			}
		})
	}
	if newQuota(Options{}, t0) != nil {
		t.Error("no quota should mean no lock on the hot path")
	}
}

func TestQuotaPerModelAndDay(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type step struct {
		ms      int
		model   string
		reserve int64
		settle  float64 // if > 0: first settle this model's previous admitted reservation to this
		reset   bool    // ResetDay first
		want    string
	}
	tests := []struct {
		name  string
		opts  Options
		steps []step
	}{
		{"each model has its own buckets", Options{RequestsPerMinute: 120, QuotaBurst: time.Second,
			ModelQuotas: map[string]Quota{"small": {RequestsPerMinute: 60}}}, []step{
			// defaults: 2 requests each; "small": 1
			{model: "a", want: ""}, {model: "a", want: ""}, {model: "a", want: msgThrottledRPM},
			{model: "b", want: ""}, {model: "b", want: ""}, {model: "b", want: msgThrottledRPM},
			{model: "small", want: ""}, {model: "small", want: msgThrottledRPM},
		}},
		{"a model quota replaces all defaults", Options{TokensPerMinute: 60, QuotaBurst: time.Second,
			ModelQuotas: map[string]Quota{"free": {}}}, []step{
			{model: "a", reserve: 1, want: ""}, {model: "a", reserve: 1, want: msgThrottledTPM},
			{model: "free", reserve: 1e6, want: ""}, {model: "free", reserve: 1e6, want: ""},
		}},
		{"tokens per day count settled and reserved tokens", Options{TokensPerDay: 1000}, []step{
			{model: "a", reserve: 600, want: ""},
			{model: "a", reserve: 600, want: msgThrottledTPD}, // 600 in flight
			{model: "b", reserve: 600, want: ""},              // its own day
			{model: "a", reserve: 600, settle: 100, want: ""}, // 100 used + 600 in flight
			{model: "a", reserve: 301, want: msgThrottledTPD}, // 1001
			{model: "a", reserve: 300, want: ""},              // exactly 1000
			{model: "a", reserve: 1, settle: 1000, want: msgThrottledTPD},
			{model: "a", reserve: 1, reset: true, want: ""},              // a new day: 600 still in flight + 1
			{model: "a", reserve: 400, settle: 1, want: msgThrottledTPD}, // 1 used + 600 + 400
		}},
		{"burndown settles above the reservation", Options{TokensPerDay: 100}, []step{
			{model: "a", reserve: 30, want: ""},
			{model: "a", reserve: 10, settle: 90, want: ""}, // 90 used: 30 reserved, 5× output on top
			{model: "a", reserve: 1, want: msgThrottledTPD},
		}},
		{"the day ends on the clock", Options{TokensPerDay: 100, DayLength: time.Hour}, []step{
			{model: "a", reserve: 100, want: ""},
			{ms: 1000, model: "a", reserve: 1, settle: 100, want: msgThrottledTPD},
			{ms: 3_599_999, model: "a", reserve: 1, want: msgThrottledTPD},
			{ms: 3_600_000, model: "a", reserve: 100, want: ""},
			{ms: 7_300_000, model: "a", reserve: 1, settle: 100, want: msgThrottledTPD}, // yesterday's call settles into today
			{ms: 10_800_000, model: "a", reserve: 100, want: ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQuota(tt.opts, t0)
			last := map[string]int64{}
			for i, s := range tt.steps {
				now := t0.Add(time.Duration(s.ms) * time.Millisecond)
				if s.settle > 0 {
					q.settle(now, s.model, last[s.model], s.settle)
				}
				if s.reset {
					q.resetDay(now)
				}
				got := q.admit(now, s.model, s.reserve)
				if got != s.want {
					t.Fatalf("step %d (%+v): admit = %q, want %q", i, s, got, s.want)
				}
				if got == "" {
					last[s.model] = s.reserve
				}
			}
		})
	}
}
