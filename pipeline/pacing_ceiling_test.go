package pipeline_test

import (
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/reader"
)

// pacingCeiling bounds what any client can do in a cell: the steady
// achieved/quota and the time/ideal of BenchmarkPacing's measure.
type pacingCeiling struct{ achieved, time float64 }

// ceilingStep is the time step of the fluid model.
const ceilingStep = time.Millisecond

// ceiling bounds, without the clock, what any client can do in a cell
// under the emulator's documented rules (bedrocktest, not the limiter's
// code): a bucket of burst × quota/60 tokens that starts full and refills
// continuously, a call admitted only when the bucket holds its input +
// maxTokens (a larger one only when it is full), settled to input +
// output × burndown when it ends, latency after it started. Calls are a
// fluid at the cell's mean reservation R and settlement S, and nothing is
// ever lost to the bucket's capacity, so the bound is generous: by time
// t, with A(t) calls started, those still in flight can hold no more than
// the bucket's capacity plus the quota not yet settled,
//
//	R·(A(t) − A(t−latency)) ≤ capacity − min(R, capacity) + R + quota·t − S·A(t−latency),
//
// and never more than the concurrency are in flight.
func (c pacingCell) ceiling(recs []reader.Record, quota int) pacingCeiling {
	var reserved, used float64
	for _, rec := range recs {
		prompt := rec.Messages[0].Content[0].Text
		input := float64(bedrocktest.CountTokens(prompt))
		output := min(float64(bedrocktest.CountTokens(bedrocktest.Answer(prompt))), float64(c.maxTokens))
		reserved += input + float64(c.maxTokens)
		used += input + output*c.burndown()
	}
	n := float64(len(recs))
	r, s := reserved/n, used/n
	rate := float64(quota) / 60
	capacity := rate * c.burst.Seconds()
	lag := int(c.latency / ceilingStep)
	started := []float64{0} // A at each step
	var t10, t90 float64    // when a tenth, and nine tenths, of the calls had ended
	for k := 1; ; k++ {
		t := float64(k) * ceilingStep.Seconds()
		done := 0.0 // A(t − latency): calls that have ended
		if k >= lag {
			done = started[k-lag]
		}
		limit := (capacity - min(r, capacity) + r + rate*t - s*done) / r
		started = append(started, max(started[k-1], min(done+limit, done+float64(c.concurrency), n)))
		if t10 == 0 && done >= n/10 {
			t10 = t
		}
		if t90 == 0 && done >= n*9/10 {
			t90 = t
		}
		if done >= n {
			return pacingCeiling{
				achieved: 0.8 * n * s / (t90 - t10) / rate,
				time:     t / (used / rate),
			}
		}
	}
}

// BenchmarkPacingPlan reports, for every cell of BenchmarkPacing without
// running it, its quota, records, whether it is feasible, the ceiling and
// the oracle: the plan and the yardsticks of the matrix.
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
				oracle := cell.oracle(recs, cell.quota())
				b.ReportMetric(oracle.achieved, "oracle-achieved/quota")
				b.ReportMetric(oracle.time, "oracle-time/ideal")
			}
		})
	}
}
