package pipeline_test

import (
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/reader"
)

// oracle is what a client that sees the emulator's bucket reaches in a
// cell: it starts each record, in order, the millisecond the bucket holds
// its reservation (input + maxTokens, or a full bucket for a larger one)
// and fewer than the concurrency are in flight, under the emulator's
// documented rules (bedrocktest: a bucket of burst × quota/60 that starts
// full, refills continuously up to its capacity, and takes back at the
// end what a call reserved beyond what it used). Unlike the ceiling's
// fluid bound it loses what the bucket's capacity caps, as any client
// does, and starts a call larger than the bucket only into a full one. It
// is a yardstick, not a bound: starting every call as early as possible
// is not always best (with 4 workers at 100 ms, pacing by refill did
// better). Measured as BenchmarkPacing measures a run.
func (c pacingCell) oracle(recs []reader.Record, quota int) pacingCeiling {
	type call struct {
		end            time.Duration
		reserved, used float64
	}
	rate := float64(quota) / 60 / 1000 // per millisecond
	capacity := float64(quota) * c.burst.Seconds() / 60
	level := capacity
	var inFlight []call // in order of their end: every call takes the latency
	var rows []settledRow
	var usedAll float64
	start := time.Unix(0, 0)
	next := 0
	for now := time.Duration(0); len(rows) < len(recs); now += time.Millisecond {
		level = min(capacity, level+rate)
		for len(inFlight) > 0 && inFlight[0].end <= now {
			done := inFlight[0]
			inFlight = inFlight[1:]
			level = min(capacity, level+done.reserved-done.used)
			rows = append(rows, settledRow{start.Add(now), done.used})
		}
		for next < len(recs) && len(inFlight) < c.concurrency {
			prompt := recs[next].Messages[0].Content[0].Text
			input := float64(bedrocktest.CountTokens(prompt))
			reserved := input + float64(c.maxTokens)
			if level < min(reserved, capacity) {
				break
			}
			output := min(float64(bedrocktest.CountTokens(bedrocktest.Answer(prompt))), float64(c.maxTokens))
			used := input + output*c.burndown()
			level -= reserved
			usedAll += used
			inFlight = append(inFlight, call{now + c.latency, reserved, used})
			next++
		}
	}
	wall := rows[len(rows)-1].at.Sub(start)
	return pacingCeiling{
		achieved: steadyPerMinute(rows) / float64(quota),
		time:     wall.Seconds() / (usedAll / float64(quota) * 60),
	}
}
