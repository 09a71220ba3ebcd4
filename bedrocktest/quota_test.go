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
		{"default burst", Options{RequestsPerMinute: 60}, []step{
			{}, {}, {}, {}, {}, {want: msgThrottledRPM},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQuota(tt.opts, t0)
			var last int64
			for i, s := range tt.steps {
				if s.settle > 0 {
					q.settle(at(s.ms), last, s.settle)
				}
				got := q.admit(at(s.ms), s.reserve)
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
