package pipeline

import (
	"testing"
	"time"
)

func TestLatencyPercentiles(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"none", nil, 0.5, 0},
		{"one", []time.Duration{200 * time.Millisecond}, 0.99, 200 * time.Millisecond},
		{"median of 1..100 ms", spread(1, 100), 0.5, 50 * time.Millisecond},
		{"p95 of 1..100 ms", spread(1, 100), 0.95, 95 * time.Millisecond},
		{"p99 of 1..1000 ms", spread(1, 1000), 0.99, 990 * time.Millisecond},
		{"minutes", []time.Duration{3 * time.Minute}, 0.5, 3 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l latencies
			for _, d := range tt.samples {
				l.add(d)
			}
			got := l.percentile(tt.p)
			// Buckets are 2% wide: the answer is the bucket's upper edge.
			if got < tt.want || float64(got) > float64(tt.want)*1.03+float64(time.Millisecond) {
				t.Errorf("p%v = %v, want %v (within a bucket)", tt.p*100, got, tt.want)
			}
		})
	}
}

func spread(fromMs, toMs int) []time.Duration {
	var out []time.Duration
	for ms := fromMs; ms <= toMs; ms++ {
		out = append(out, time.Duration(ms)*time.Millisecond)
	}
	return out
}
