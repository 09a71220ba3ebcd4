package pipeline_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/ratelimit"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/request"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// BenchmarkPacing is the matrix of issue 13, on the real clock: records of
// 5 to 80 words through the whole pipeline and the real SDK client to the
// emulator, whose quota (tokens per minute, counted as Bedrock counts
// them, in a bucket of QuotaBurst that starts full) is given to the tool,
// given for a Claude 4 model whose output counts 5 times, or not given at
// all. Each cell reports the quota tokens settled per minute between the
// 10% and the 90% row over the quota (achieved/quota), the emulator's 429s
// per record, and the wall time over the ideal (all the quota tokens
// settled, at the quota). It also reports the same two ratios for the best
// any client could do under the emulator's rules (ceiling-…), worked out
// by simulating them with a client that sees the emulator's bucket.
//
//	go test -run '^$' -bench 'Pacing/' -benchtime 1x -timeout 3h ./pipeline/
//	go test -run '^$' -bench 'Pacing/given/c=64/' -benchtime 1x ./pipeline/
//
// Cells are named case/c=CONCURRENCY/lat=LATENCY/mt=MAXTOKENS/burst=BURST.
func BenchmarkPacing(b *testing.B) {
	for _, cell := range pacingCells() {
		b.Run(cell.name(), func(b *testing.B) {
			for b.Loop() {
				cell.measure(b)
			}
		})
	}
}

// pacingCase is what the tool is told of the emulator's quota.
type pacingCase string

const (
	caseGiven   pacingCase = "given"   // --tpm, model with output counted once
	caseClaude  pacingCase = "claude"  // --tpm, Claude 4, output counted 5 times on both sides
	caseUnknown pacingCase = "unknown" // no limit given
)

const (
	novaModel   = "amazon.nova-lite-v1:0"
	claudeModel = "us.anthropic.claude-sonnet-4-20250514-v1:0"
	// An answer is 15 words (bedrocktest.Answer) and a prompt 5 to 80:
	// a call settles about 42.5 + 15 quota tokens, or 42.5 + 75 with
	// output counted 5 times.
	meanInput  = 42.5
	meanAnswer = 15
	// pacingRate is the most calls a second a cell asks of the machine
	// (the emulator shares its two cores with the client); pacingRun is
	// how long a cell runs at its quota, at least pacingRecords records.
	pacingRate    = 150
	pacingRun     = 40 * time.Second
	pacingRecords = 120
)

type pacingCell struct {
	kind        pacingCase
	concurrency int
	latency     time.Duration
	maxTokens   int32
	burst       time.Duration // of the emulator's bucket
}

// pacingCells is the matrix: every case, concurrency, latency and
// maxTokens with the emulator's default bucket of 2 s, and the cells no
// client can run at the quota in a bucket of 2 s again with a bucket of a
// minute (the per-minute window reading of a tokens-per-minute quota).
func pacingCells() []pacingCell {
	var cells []pacingCell
	for _, burst := range []time.Duration{bedrocktest.DefaultQuotaBurst, time.Minute} {
		for _, kind := range []pacingCase{caseGiven, caseClaude, caseUnknown} {
			for _, c := range []int{4, 64, 256, 1024} {
				for _, lat := range []time.Duration{100 * time.Millisecond, 2 * time.Second} {
					for _, mt := range []int32{64, 1024} {
						cell := pacingCell{kind, c, lat, mt, burst}
						small := pacingCell{kind, c, lat, mt, bedrocktest.DefaultQuotaBurst}
						if burst == bedrocktest.DefaultQuotaBurst || !small.feasible() {
							cells = append(cells, cell)
						}
					}
				}
			}
		}
	}
	return cells
}

func (c pacingCell) name() string {
	return fmt.Sprintf("%s/c=%d/lat=%s/mt=%d/burst=%s", c.kind, c.concurrency, c.latency, c.maxTokens, c.burst)
}

func (c pacingCell) burndown() float64 {
	if c.kind == caseClaude {
		return 5
	}
	return 1
}

func (c pacingCell) model() string {
	if c.kind == caseClaude {
		return claudeModel
	}
	return novaModel
}

// settled is what a call counts against the quota on average.
func (c pacingCell) settled() float64 {
	return meanInput + min(meanAnswer, float64(c.maxTokens))*c.burndown()
}

// callsPerSecond at the quota: what the concurrency can hold with a fifth
// to spare (latency × calls a second in flight), at most pacingRate.
func (c pacingCell) callsPerSecond() float64 {
	return min(0.8*float64(c.concurrency)/c.latency.Seconds(), pacingRate)
}

// quota is the cell's tokens per minute.
func (c pacingCell) quota() int {
	return int(math.Round(c.callsPerSecond() * 60 * c.settled()))
}

func (c pacingCell) records() int {
	return max(pacingRecords, int(c.callsPerSecond()*pacingRun.Seconds()))
}

// feasible reports whether the best any client could do under the
// emulator's rules (the ceiling) reaches the goal of 0.97 of the quota.
func (c pacingCell) feasible() bool {
	return c.ceiling(pacingRecordsFor(c.records()), c.quota()).achieved >= 0.97
}

// pacingRecordsFor are the cell's records: prompts of 5 to 80 words, the
// same for every cell.
func pacingRecordsFor(n int) []reader.Record {
	rng := rand.New(rand.NewPCG(13, 13))
	words := strings.Fields("the quota holds calls in flight while each one waits for its answer and reserves its tokens")
	recs := make([]reader.Record, n)
	for i := range recs {
		k := 5 + rng.IntN(76)
		prompt := make([]string, k)
		for j := range prompt {
			prompt[j] = words[rng.IntN(len(words))]
		}
		recs[i] = reader.Record{ID: fmt.Sprint(i), Messages: []reader.Message{{Role: "user", Content: []reader.Content{{Text: strings.Join(prompt, " ")}}}}}
	}
	return recs
}

func (c pacingCell) measure(b *testing.B) {
	quota, n := c.quota(), c.records()
	recs := pacingRecordsFor(n)
	srv := bedrocktest.NewServer(bedrocktest.Options{Latency: c.latency, TokensPerMinute: quota, QuotaBurst: c.burst, Burndown: bedrocktest.ClaudeBurndown})
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	client := bedrock.New(cfg, bedrock.Options{Endpoint: srv.URL, MaxConns: c.concurrency})
	limits := ratelimit.ModelsConfig{}
	if c.kind != caseUnknown {
		limits.Default = ratelimit.Quota{TokensPerMinute: int64(quota)}
	}
	sink := &quotaSink{burndown: c.burndown()}
	maxTokens := c.maxTokens
	run := pipeline.New(&sliceSource{records: recs}, client, sink, pipeline.Options{
		Concurrency: c.concurrency,
		Requests:    request.New(request.Options{ModelID: c.model(), Inference: bedrock.InferenceConfig{MaxTokens: &maxTokens}}),
		Limiter:     pipeline.RateLimited(ratelimit.NewModels(limits, nil)),
		Retry:       pipeline.Retry{MaxAttempts: 50},
	})
	start := time.Now()
	summary, err := run.Run(context.Background(), make(chan struct{}))
	wall := time.Since(start)
	if err != nil || summary.OK != int64(n) {
		b.Fatalf("%v; %d ok of %d", err, summary.OK, n)
	}
	settled := srv.ModelStats()[c.model()].QuotaTokensSettled
	ideal := time.Duration(float64(settled) / float64(quota) * float64(time.Minute))
	achieved := sink.steadyPerMinute() / float64(quota)
	ceiling := c.ceiling(recs, quota)
	b.ReportMetric(float64(quota), "quota-tpm")
	b.ReportMetric(achieved, "achieved/quota")
	b.ReportMetric(float64(srv.Stats().Throttled)/float64(n), "throttled/record")
	b.ReportMetric(wall.Seconds()/ideal.Seconds(), "time/ideal")
	b.ReportMetric(ceiling.achieved, "ceiling-achieved/quota")
	b.ReportMetric(ceiling.time, "ceiling-time/ideal")
}

// quotaSink notes when each row arrived and the quota tokens its call
// settled to.
type quotaSink struct {
	burndown float64
	mu       sync.Mutex
	rows     []settledRow
}

type settledRow struct {
	at     time.Time
	tokens float64
}

func (s *quotaSink) Write(ctx context.Context, row *writer.Row) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, settledRow{time.Now(), float64(row.InputTokens) + float64(row.OutputTokens)*s.burndown})
	return nil
}

func (s *quotaSink) Commit(ctx context.Context) error { return nil }

func (s *quotaSink) steadyPerMinute() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	sort.Slice(s.rows, func(i, j int) bool { return s.rows[i].at.Before(s.rows[j].at) })
	return steadyPerMinute(s.rows)
}

// steadyPerMinute is the quota tokens of the rows after the 10% row up to
// the 90% one, per minute between them.
func steadyPerMinute(rows []settledRow) float64 {
	lo, hi := len(rows)/10, len(rows)*9/10
	var sum float64
	for _, r := range rows[lo+1 : hi+1] {
		sum += r.tokens
	}
	return sum / rows[hi].at.Sub(rows[lo].at).Minutes()
}
