package pipeline_test

import (
	"container/heap"
	"math"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/reader"
)

// pacingCeiling is the best any client can do in a cell: the steady
// achieved/quota and the time/ideal of BenchmarkPacing's measure.
type pacingCeiling struct{ achieved, time float64 }

// ceiling works out, without the clock, what a client that could see the
// emulator's bucket would achieve: it starts each record, in order, the
// moment the bucket holds it and fewer than the concurrency are in
// flight. The bucket follows bedrocktest's documented rules, not the
// limiter's code: it holds burst × quota/60 tokens and starts full,
// refills continuously, admits a call only when it holds the call's input
// + maxTokens (a larger one only when full), and at the end of the call
// (after the latency) settles it to input + output × burndown.
func (c pacingCell) ceiling(recs []reader.Record, quota int) pacingCeiling {
	rate := float64(quota) / 60
	capacity := rate * c.burst.Seconds()
	level, now := capacity, 0.0
	var flight calls
	var rows []settledRow
	var total float64
	t0 := time.Time{}
	advance := func(to float64) {
		level = min(capacity, level+(to-now)*rate)
		now = to
	}
	settleUntil := func(t float64) {
		for flight.Len() > 0 && flight[0].end <= t {
			call := heap.Pop(&flight).(flightCall)
			advance(call.end)
			level = min(capacity, level+call.reserved-call.used)
			rows = append(rows, settledRow{t0.Add(time.Duration(call.end * float64(time.Second))), call.used})
		}
		advance(t)
	}
	for _, rec := range recs {
		prompt := rec.Messages[0].Content[0].Text
		input := float64(bedrocktest.CountTokens(prompt))
		output := min(float64(bedrocktest.CountTokens(bedrocktest.Answer(prompt))), float64(c.maxTokens))
		reserved, used := input+float64(c.maxTokens), input+output*c.burndown()
		need := min(reserved, capacity)
		total += used
		for {
			settleUntil(now)
			if flight.Len() < c.concurrency && level >= need-1e-9 {
				break
			}
			next := math.Inf(1)
			if flight.Len() > 0 {
				next = flight[0].end
			}
			if flight.Len() < c.concurrency {
				next = min(next, now+(need-level)/rate)
			}
			settleUntil(next)
		}
		level -= reserved
		heap.Push(&flight, flightCall{end: now + c.latency.Seconds(), reserved: reserved, used: used})
	}
	settleUntil(math.Inf(1))
	end := rows[len(rows)-1].at.Sub(t0).Seconds()
	return pacingCeiling{
		achieved: steadyPerMinute(rows) / float64(quota),
		time:     end / (total / rate),
	}
}

type flightCall struct{ end, reserved, used float64 }

// calls is a heap of calls in flight by their end.
type calls []flightCall

func (h calls) Len() int           { return len(h) }
func (h calls) Less(i, j int) bool { return h[i].end < h[j].end }
func (h calls) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *calls) Push(x any)        { *h = append(*h, x.(flightCall)) }
func (h *calls) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// BenchmarkPacingPlan reports, for every cell of BenchmarkPacing without
// running it, its quota, records, whether it is feasible, and the ceiling:
// the plan and the yardstick of the matrix.
//
//	go test -run '^$' -bench 'PacingPlan' -benchtime 1x ./pipeline/
func BenchmarkPacingPlan(b *testing.B) {
	for _, cell := range pacingCells() {
		b.Run(cell.name(), func(b *testing.B) {
			for b.Loop() {
				recs := pacingRecordsFor(cell.records())
				ceiling := cell.ceiling(recs, cell.quota())
				feasible := 0.0
				if cell.feasible() {
					feasible = 1
				}
				b.ReportMetric(float64(cell.quota()), "quota-tpm")
				b.ReportMetric(float64(len(recs)), "records")
				b.ReportMetric(feasible, "feasible")
				b.ReportMetric(ceiling.achieved, "ceiling-achieved/quota")
				b.ReportMetric(ceiling.time, "ceiling-time/ideal")
			}
		})
	}
}
