package ratelimit

import (
	"math"
	"math/rand/v2"
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
	clock := &fakeClock{now: t0}
	m := NewModels(ModelsConfig{
		Default:  Quota{TokensPerMinute: 1_000_000},
		PerModel: map[string]Quota{claude: {TokensPerMinute: 200_000, TokensPerDay: 1_000_000}},
	}, clock)
	for i := range 10 {
		for _, model := range []string{nova, claude} {
			_, ticket := reserveModel(t, m, model, Reservation{InputTokens: 900, CacheTokens: 100, MaxTokens: 1000})
			switch {
			case i == 9 && model == claude:
				ticket.Throttled()
			default:
				ticket.Done(Usage{InputTokens: 900, CacheReadInputTokens: 60, CacheWriteInputTokens: 40, OutputTokens: 100})
			}
		}
		clock.advance(time.Second)
	}
	_, inflight := reserveModel(t, m, claude, Reservation{InputTokens: 1000, MaxTokens: 1000})
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

// TestSimulatedRunKeepsToTheQuota runs ten simulated minutes of a Claude 4
// model at its tokens-per-minute quota, with maxTokens set and output
// counting 5 times: 32 workers call through the limiter, and a simulated
// Bedrock, which reserves at admission and settles at completion over a
// minute of quota, throttles whatever goes over. The limiter must keep the
// settled quota tokens at 90% of the quota or more over the steady part,
// with no throttles.
func TestSimulatedRunKeepsToTheQuota(t *testing.T) {
	const (
		model     = "us.anthropic.claude-sonnet-4-20250514-v1:0"
		tpm       = 200_000.0
		workers   = 32
		maxTokens = 2000
		bias      = 1.2 // real input over the caller's estimate, to be learned
	)
	clock := &fakeClock{now: t0}
	m := NewModels(ModelsConfig{Default: Quota{TokensPerMinute: tpm}}, clock)
	s := m.model(model)
	rng := rand.New(rand.NewPCG(1, 2))

	// Bedrock's side: a minute of quota, refilled continuously.
	level, last := tpm, t0
	refill := func() {
		level = min(tpm, level+clock.now.Sub(last).Minutes()*tpm)
		last = clock.now
	}
	type event struct {
		at     time.Time
		kind   int // ready to reserve, start, end
		ticket *ModelTicket
		input  int64
		hold   float64 // what Bedrock reserved
	}
	const (
		ready = iota
		start
		end
	)
	events := make([]event, workers)
	for i := range events {
		events[i] = event{at: t0, kind: ready}
	}
	var throttled, calls int
	for {
		next := 0
		for i := range events {
			if events[i].at.Before(events[next].at) {
				next = i
			}
		}
		e := &events[next]
		if e.at.Sub(t0) > 10*time.Minute {
			break
		}
		clock.now = e.at
		switch e.kind {
		case ready:
			input := 800 + rng.Int64N(400)
			estimate := m.EstimateInput(model, int64(float64(input)/bias))
			wait, ticket, _, err := s.reserve(Reservation{InputTokens: estimate, MaxTokens: maxTokens})
			if err != nil {
				t.Fatal(err)
			}
			*e = event{at: clock.now.Add(wait), kind: start, ticket: ticket, input: input}
		case start:
			calls++
			refill()
			hold := float64(e.input + maxTokens)
			if level < hold {
				throttled++
				e.ticket.Throttled()
				*e = event{at: clock.now.Add(time.Second), kind: ready}
				break
			}
			level -= hold
			out := 50 + rng.Int64N(1450)
			latency := 400*time.Millisecond + time.Duration(out)*20*time.Millisecond
			e.kind, e.at, e.hold = end, clock.now.Add(latency), hold
			e.input = e.input<<16 | out // carry the output along
		case end:
			input, out := e.input>>16, e.input&0xffff
			refill()
			level = min(tpm, level+e.hold-float64(input+5*out))
			e.ticket.Done(Usage{InputTokens: input, OutputTokens: out})
			*e = event{at: clock.now, kind: ready}
		}
	}
	r := m.Report()[0]
	t.Logf("10 simulated minutes at %.0f tokens/min: achieved %.0f/min = %.3f of the quota; %d calls, %d throttled; input ratio learned %.3f (true %.1f)",
		tpm, r.AchievedPerMinute, r.Utilization(), calls, throttled, r.InputRatio, bias)
	if r.Utilization() < 0.9 || r.Utilization() > 1.01 || throttled > 0 {
		t.Errorf("achieved %.3f of the quota with %d throttled", r.Utilization(), throttled)
	}
	if math.Abs(r.InputRatio-bias) > 0.05 {
		t.Errorf("input ratio %.3f, want about %v", r.InputRatio, bias)
	}
}
