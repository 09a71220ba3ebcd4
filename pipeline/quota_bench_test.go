package pipeline_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/request"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// BenchmarkQuota runs 1,200 records against an emulator enforcing a quota
// of 2,400 requests (or the equivalent in tokens) a minute, so the ideal
// run takes 30 s, and reports how close the run came: the completion rate
// over the steady middle (10% to 90% of rows) against the quota, throttled
// calls per record, and completion time against the ideal. The
// "cookbook" case paces with the OpenAI cookbook's parallel processor
// design (a bucket holding a full minute of quota, a 15 s pause for every
// worker after a rate-limit error) on the same emulator.
//
//	go test -run '^$' -bench Quota -benchtime 1x ./pipeline/
func BenchmarkQuota(b *testing.B) {
	const (
		recordCount = 1200
		rpm         = 2400
		// A record reserves about 6 input + 40 output tokens and settles
		// near 27; 64,800 tokens a minute is about 2,400 records a minute.
		tpm = 64800
	)
	maxTokens := int32(40)
	emulator := func(o bedrocktest.Options) bedrocktest.Options {
		o.Latency, o.QuotaBurst = 100*time.Millisecond, 2*time.Second
		return o
	}
	cases := []struct {
		name      string
		emulator  bedrocktest.Options
		limiter   func() pipeline.Limiter
		maxTokens *int32
	}{
		{"rpm-given", emulator(bedrocktest.Options{RequestsPerMinute: rpm}),
			func() pipeline.Limiter {
				return pipeline.RateLimited(ratelimit.NewModels(ratelimit.ModelsConfig{Default: ratelimit.Quota{RequestsPerMinute: rpm}}, nil))
			}, nil},
		{"tpm-given", emulator(bedrocktest.Options{TokensPerMinute: tpm}),
			func() pipeline.Limiter {
				return pipeline.RateLimited(ratelimit.NewModels(ratelimit.ModelsConfig{Default: ratelimit.Quota{TokensPerMinute: tpm}}, nil))
			}, &maxTokens},
		{"rpm-discovered", emulator(bedrocktest.Options{RequestsPerMinute: rpm}),
			func() pipeline.Limiter {
				return pipeline.RateLimited(ratelimit.NewModels(ratelimit.ModelsConfig{}, nil))
			}, nil},
		{"rpm-cookbook", emulator(bedrocktest.Options{RequestsPerMinute: rpm}),
			func() pipeline.Limiter { return newCookbook(rpm, 0) }, nil},
		{"tpm-cookbook", emulator(bedrocktest.Options{TokensPerMinute: tpm}),
			func() pipeline.Limiter { return newCookbook(0, tpm) }, &maxTokens},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				m, srv := model(b, c.emulator)
				sink := &timingSink{throttled: func() int64 { return srv.Stats().Throttled }}
				run := pipeline.New(&sliceSource{records: records(recordCount)}, m, sink, pipeline.Options{
					Concurrency: 32,
					Requests:    request.New(request.Options{ModelID: "m", Inference: bedrock.InferenceConfig{MaxTokens: c.maxTokens}}),
					Limiter:     c.limiter(),
				})
				start := time.Now()
				summary, err := run.Run(context.Background(), make(chan struct{}))
				if err != nil || summary.OK != recordCount {
					b.Fatalf("%v; %d ok of %d", err, summary.OK, recordCount)
				}
				wall := time.Since(start)
				stats := srv.Stats()
				ideal := time.Duration(float64(recordCount) / rpm * float64(time.Minute))
				if c.maxTokens != nil {
					ideal = time.Duration(float64(stats.InputTokens+stats.OutputTokens) / tpm * float64(time.Minute))
				}
				b.ReportMetric(sink.steadyRate(recordCount)/(float64(recordCount)/ideal.Seconds()), "steady-rate/quota")
				b.ReportMetric(float64(stats.Throttled)/recordCount, "throttled/record")
				b.ReportMetric(sink.steadyThrottled(recordCount), "steady-throttled/record")
				b.ReportMetric(wall.Seconds()/ideal.Seconds(), "time/ideal")
			}
		})
	}
}

// timingSink records when each row arrived, and how many calls had been
// throttled by then.
type timingSink struct {
	mu        sync.Mutex
	times     []time.Time
	throttles []int64
	throttled func() int64
}

func (s *timingSink) Write(ctx context.Context, row *writer.Row) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.times = append(s.times, time.Now())
	if s.throttled != nil {
		s.throttles = append(s.throttles, s.throttled())
	}
	return nil
}

// steadyThrottled is throttled calls per row between the 10% and the 90%
// row: the run once its rate is found, without the start.
func (s *timingSink) steadyThrottled(n int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.throttles) < n {
		return 0
	}
	lo, hi := n/10, n*9/10
	return float64(s.throttles[hi]-s.throttles[lo]) / float64(hi-lo)
}

func (s *timingSink) Commit(ctx context.Context) error { return nil }

// steadyRate is rows per second between the 10% and the 90% row.
func (s *timingSink) steadyRate(n int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	sort.Slice(s.times, func(i, j int) bool { return s.times[i].Before(s.times[j]) })
	lo, hi := n/10, n*9/10
	return float64(hi-lo) / s.times[hi].Sub(s.times[lo]).Seconds()
}

// cookbook paces like the OpenAI cookbook's api_request_parallel_processor:
// request and token capacity refill continuously up to a full minute's
// quota (and start full), a call takes input plus max output tokens and
// never gives any back, and after a rate-limit error every call waits until
// 15 s have passed since it.
type cookbook struct {
	mu                sync.Mutex
	rpm, tpm          float64
	requests, tokens  float64
	last, pausedUntil time.Time
}

func newCookbook(rpm, tpm float64) *cookbook {
	return &cookbook{rpm: rpm, tpm: tpm, requests: rpm, tokens: tpm, last: time.Now()}
}

func (c *cookbook) EstimateInput(model string, estimate int64) int64 { return estimate }

func (c *cookbook) Wait(ctx context.Context, model string, r ratelimit.Reservation) (pipeline.Ticket, error) {
	tokens := r.InputTokens + r.MaxTokens
	if r.MaxTokens == 0 {
		tokens += 4096 // the cookbook's own default
	}
	for {
		c.mu.Lock()
		now := time.Now()
		elapsed := now.Sub(c.last).Minutes()
		c.last = now
		c.requests = min(c.rpm, c.requests+c.rpm*elapsed)
		c.tokens = min(c.tpm, c.tokens+c.tpm*elapsed)
		pause := c.pausedUntil.Sub(now)
		okRequests := c.rpm == 0 || c.requests >= 1
		okTokens := c.tpm == 0 || c.tokens >= float64(tokens)
		if pause <= 0 && okRequests && okTokens {
			c.requests--
			c.tokens -= float64(tokens)
			c.mu.Unlock()
			return cookbookTicket{c}, nil
		}
		c.mu.Unlock()
		wait := time.Millisecond
		if pause > 0 {
			wait = pause
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

type cookbookTicket struct{ c *cookbook }

func (cookbookTicket) Done(ratelimit.Usage) {}
func (cookbookTicket) Failed()              {}
func (cookbookTicket) DailyQuotaExhausted() {}
func (t cookbookTicket) Throttled() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.c.pausedUntil = time.Now().Add(15 * time.Second)
}
