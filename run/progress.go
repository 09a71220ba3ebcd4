package run

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/bedrock-batch/bedrock-batch/ledger"
	"github.com/bedrock-batch/bedrock-batch/pipeline"
	"github.com/bedrock-batch/bedrock-batch/prices"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// progress shows how a run goes, and when it will end: on a terminal a live
// bar, otherwise a log line every interval (cron, AWS Batch, Kubernetes,
// CloudWatch). It never shows prompt text.
type progress struct {
	deps      Deps
	pipeline  *pipeline.Run
	filter    *ledger.Filter
	prices    *prices.Prices
	inputs    int64  // records in the inputs, from the counting pass; -1 until known
	limits    string // what a call waiting for its quota waits for
	sharded   bool
	calls     int // the concurrency
	jobStates func() string

	samples []sample // recent (time, rows) pairs, for the recent rate
}

type sample struct {
	at   time.Time
	rows int64
}

// rateWindow is how far back the recent rate looks.
const rateWindow = time.Minute

// status is one look at a run, in the fields both forms show. A zero Total
// means the total is not known yet.
type status struct {
	Done, Total         int64
	PerSecond           float64
	ETA                 time.Duration
	CostUSD             float64
	CostKnown           bool
	Throttled, Retried  int64
	BoundBy, BatchJobs  string
	OK, Errors, Elapsed int64
}

// look takes the status now.
func (p *progress) look(now time.Time) status {
	s := p.pipeline.Progress()
	c := p.filter.Counts()
	st := status{Done: c.AlreadyDone + s.Records, OK: s.OK, Errors: s.Errors, Throttled: s.Throttled, Retried: s.Retries}
	switch inputs := atomic.LoadInt64(&p.inputs); {
	case c.Exhausted:
		// Every record of the shard is read: the rows it will have are
		// those already done and those this run read.
		st.Total = c.AlreadyDone + s.Read
	case inputs >= 0 && !p.sharded:
		st.Total = inputs
	}
	p.samples = append(p.samples, sample{now, s.Records})
	for len(p.samples) > 2 && now.Sub(p.samples[1].at) >= rateWindow {
		p.samples = p.samples[1:]
	}
	if first := p.samples[0]; now.Sub(first.at) > 0 {
		st.PerSecond = float64(s.Records-first.rows) / now.Sub(first.at).Seconds()
	}
	if st.Total > 0 && st.PerSecond > 0 {
		st.ETA = time.Duration(float64(max(st.Total-st.Done, 0)) / st.PerSecond * float64(time.Second)).Round(time.Second)
	}
	st.CostUSD, st.CostKnown = p.prices.TotalCost(s.Totals)
	st.BoundBy = p.boundBy(s)
	if p.jobStates != nil {
		st.BatchJobs = p.jobStates()
	}
	return st
}

// boundBy says what sets the pace now: the quota (calls wait for it), the
// daily quota (a model's is spent), the concurrency (every call slot is
// busy), or the model's latency (calls are free to start, and all there
// are run).
func (p *progress) boundBy(s pipeline.Summary) string {
	switch {
	case len(s.QuotaStopped) > 0:
		return "tokens per day"
	case s.WaitingForQuota > 0:
		return p.limits
	case s.InFlight >= int64(p.calls):
		return "concurrency"
	case s.InFlight > 0:
		return "the model's latency"
	}
	return ""
}

// line is the status on one terminal line: a bar, done/total and %, the
// recent rate, the ETA, cost so far, throttled and retried calls, and what
// binds the pace.
func (st status) line() string {
	var b strings.Builder
	const width = 24
	if st.Total > 0 {
		fraction := min(float64(st.Done)/float64(st.Total), 1)
		full := int(math.Round(fraction * width))
		fmt.Fprintf(&b, "[%s%s] %5.1f%% %d/%d", strings.Repeat("=", full), strings.Repeat(" ", width-full), 100*fraction, st.Done, st.Total)
	} else {
		fmt.Fprintf(&b, "%d done (total not known yet)", st.Done)
	}
	fmt.Fprintf(&b, "  %.1f/s", st.PerSecond)
	if st.ETA > 0 {
		fmt.Fprintf(&b, "  ETA %s", st.ETA)
	}
	if st.CostKnown {
		fmt.Fprintf(&b, "  $%.4f", st.CostUSD)
	}
	if st.Errors > 0 {
		fmt.Fprintf(&b, "  errors %d", st.Errors)
	}
	fmt.Fprintf(&b, "  throttled %d  retried %d", st.Throttled, st.Retried)
	if st.BoundBy != "" {
		fmt.Fprintf(&b, "  bound by %s", st.BoundBy)
	}
	if st.BatchJobs != "" {
		fmt.Fprintf(&b, "  %s", st.BatchJobs)
	}
	return b.String()
}

// attrs are the status as log fields, the empty ones left out.
func (st status) attrs() []any {
	attrs := []any{slog.Int64("done", st.Done)}
	if st.Total > 0 {
		attrs = append(attrs, slog.Int64("total", st.Total),
			slog.String("percent", fmt.Sprintf("%.1f", 100*min(float64(st.Done)/float64(st.Total), 1))))
	} else {
		attrs = append(attrs, slog.String("total", "not known yet"))
	}
	attrs = append(attrs, slog.Int64("ok", st.OK))
	if st.Errors > 0 {
		attrs = append(attrs, slog.Int64("errors", st.Errors))
	}
	attrs = append(attrs, slog.String("per_second", fmt.Sprintf("%.1f", st.PerSecond)))
	if st.ETA > 0 {
		attrs = append(attrs, slog.String("eta", st.ETA.String()))
	}
	if st.CostKnown {
		attrs = append(attrs, slog.String("cost_usd", fmt.Sprintf("%.4f", st.CostUSD)))
	}
	if st.Throttled > 0 {
		attrs = append(attrs, slog.Int64("throttled", st.Throttled))
	}
	if st.Retried > 0 {
		attrs = append(attrs, slog.Int64("retried", st.Retried))
	}
	if st.BoundBy != "" {
		attrs = append(attrs, slog.String("bound_by", st.BoundBy))
	}
	if st.BatchJobs != "" {
		attrs = append(attrs, slog.String("batch_jobs", st.BatchJobs))
	}
	return attrs
}

// show reports until ctx ends: every interval, and once more at the end
// on a terminal so its last line is final.
func (p *progress) show(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			if p.deps.Terminal {
				fmt.Fprintf(p.deps.Progress, "\r%s\n", p.look(p.deps.Clock.Now()).line())
			}
			return
		case <-p.deps.Clock.After(p.deps.ProgressInterval):
		}
		st := p.look(p.deps.Clock.Now())
		if p.deps.Terminal {
			fmt.Fprintf(p.deps.Progress, "\r%s\x1b[K", st.line())
			continue
		}
		p.deps.Logger.Info("progress", st.attrs()...)
	}
}

// countRecords is the counting pass: how many records the inputs hold, by
// counting JSONL lines that are not blank and reading Parquet footers, far
// faster than parsing them. It gives up (-1) on an error: the total is
// then known only once the run has read everything.
func countRecords(ctx context.Context, opener storage.Opener, inputs []reader.Input) int64 {
	var total int64
	for _, in := range inputs {
		n, err := countInput(ctx, opener, in)
		if err != nil {
			return -1
		}
		total += n
	}
	return total
}

func countInput(ctx context.Context, opener storage.Opener, in reader.Input) (int64, error) {
	if in.Format == reader.Parquet {
		ra, size, closer, err := opener.OpenAt(ctx, in.Path)
		if err != nil {
			return 0, err
		}
		defer closer.Close()
		f, err := parquet.OpenFile(ra, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			return 0, err
		}
		return f.NumRows(), nil
	}
	rc, err := opener.Open(ctx, in.Path)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	var r io.Reader = rc
	if strings.HasSuffix(strings.ToLower(in.Path), ".gz") {
		gz, err := gzip.NewReader(rc)
		if err != nil {
			return 0, err
		}
		defer gz.Close()
		r = gz
	}
	br := bufio.NewReaderSize(r, 256<<10)
	var n int64
	blank := true
	for {
		chunk, err := br.ReadSlice('\n')
		for _, c := range chunk {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != 0xEF && c != 0xBB && c != 0xBF {
				blank = false
				break
			}
		}
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' || err == io.EOF {
			if !blank {
				n++
			}
			blank = true
		}
		switch {
		case err == io.EOF:
			return n, nil
		case err == bufio.ErrBufferFull:
			continue // a long line goes on
		case err != nil:
			return 0, err
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
}
