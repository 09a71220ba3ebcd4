package ratelimit

import (
	"math"
	"testing"
	"time"
)

func TestAchievedPerMinute(t *testing.T) {
	tests := []struct {
		name  string
		every time.Duration // one settlement of 1,000 tokens each
		n     int
		ramp  int // settlements of 10,000 at the start, every second
		want  float64
	}{
		{"steady, one a second", time.Second, 600, 0, 60000},
		{"steady, ten a second, past many merges", 100 * time.Millisecond, 36000, 0, 600000},
		{"a start burst left out", time.Second, 600, 30, 60000},
		{"one settlement: no rate", time.Second, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tl timeline
			at := t0
			for range tt.ramp {
				tl.add(at, 10000)
				at = at.Add(time.Second)
			}
			for i := range tt.n {
				if i > 0 || tt.ramp > 0 {
					at = at.Add(tt.every)
				}
				tl.add(at, 1000)
			}
			if got := tl.perMinute(steadySkip); math.Abs(got-tt.want) > tt.want*0.01 {
				t.Fatalf("achieved %v/min, want %v (%d bins of %v)", got, tt.want, len(tl.bins), tl.width)
			}
			if len(tl.bins) > timelineBins {
				t.Fatalf("%d bins", len(tl.bins))
			}
		})
	}
}

func TestReport(t *testing.T) {
	const claude, nova = "us.anthropic.claude-sonnet-4-20250514-v1:0", "amazon.nova-pro-v1:0"
	clock := newFakeClock()
	m := NewModels(ModelsConfig{
		Default:  Quota{TokensPerMinute: 1_000_000},
		PerModel: map[string]Quota{claude: {TokensPerMinute: 200_000, TokensPerDay: 1_000_000}},
	}, clock)
	for i := range 10 {
		for _, model := range []string{nova, claude} {
			ticket := admitNow(t, m, model, Reservation{InputTokens: 900, CacheTokens: 100, MaxTokens: 1000})
			switch {
			case i == 9 && model == claude:
				ticket.Throttled()
			default:
				ticket.Done(Usage{InputTokens: 900, CacheReadInputTokens: 60, CacheWriteInputTokens: 40, OutputTokens: 100})
			}
		}
		clock.advance(time.Second)
	}
	inflight := admitNow(t, m, claude, Reservation{InputTokens: 1000, MaxTokens: 1000})
	defer inflight.Failed()
	got := m.Report()
	if len(got) != 2 || got[0].Model != nova || got[1].Model != claude {
		t.Fatalf("report %+v", got)
	}
	n, c := got[0], got[1]
	if n.Calls != 10 || n.Throttled != 0 || n.ReservedTokens != 20000 || n.SettledTokens != 10*1040 ||
		n.InputTokens != 9000 || n.OutputTokens != 1000 || n.CacheReadTokens != 600 || n.CacheWriteTokens != 400 ||
		n.DailyLeft != -1 || n.Burndown != 1 || n.Rate.TokensPerMinute != 1_000_000 {
		t.Errorf("nova %+v", n)
	}
	// Nine settled at 900 + 40 + 100×5; one throttled; one in flight,
	// charged 1,000 + 1,000×5 against the day.
	if c.Calls != 11 || c.Throttled != 1 || c.SettledTokens != 9*1440 || c.Burndown != 5 ||
		c.DailyUsed != 9*1440 || c.DailyLeft != 1_000_000-9*1440-6000 || c.Exhausted || c.Rate.Throttles != 1 {
		t.Errorf("claude %+v", c)
	}
	// Settled once a second from 0 s to 9 s: the 9 after the first tenth
	// of the span, 0.9 s, over 8.1 s.
	if math.Abs(n.AchievedPerMinute-9*1040/8.1*60) > 1 || n.Utilization() != n.AchievedPerMinute/1_000_000 {
		t.Errorf("nova achieved %v/min", n.AchievedPerMinute)
	}
}
