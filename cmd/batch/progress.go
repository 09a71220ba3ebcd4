package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/bedrock-batch/bedrock-batch/pipeline"
)

// progressReporter shows how a run goes: a live line on a terminal, a log
// line every few seconds otherwise (cron, Batch, Kubernetes logs). It never
// shows prompt text.
type progressReporter struct {
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// jobStates, when not nil, says where the run's batch-inference jobs are
// ("2 InProgress, 1 Completed").
func startProgress(ctx context.Context, run *pipeline.Run, jobStates func() string, stderr io.Writer, logger *slog.Logger) *progressReporter {
	ctx, cancel := context.WithCancel(ctx)
	p := &progressReporter{cancel: cancel}
	live := false
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		live = true
	}
	interval := 10 * time.Second
	if live {
		interval = 250 * time.Millisecond
	}
	start := time.Now()
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				if live {
					fmt.Fprintln(stderr)
				}
				return
			case <-ticker.C:
			}
			s := run.Progress()
			jobs := ""
			if jobStates != nil {
				jobs = jobStates()
			}
			elapsed := time.Since(start)
			rate := float64(s.Records) / elapsed.Seconds()
			if live {
				fmt.Fprintf(stderr, "\r%d done (%d ok, %d error)  %.1f/s  tokens in %d out %d  throttled %d  %s   ",
					s.Records, s.OK, s.Errors, rate, s.Tokens.Input, s.Tokens.Output, s.Throttled, jobs)
				continue
			}
			logger.Info("progress", "done", s.Records, "ok", s.OK, "error", s.Errors,
				"per_second", fmt.Sprintf("%.1f", rate), "input_tokens", s.Tokens.Input,
				"output_tokens", s.Tokens.Output, "throttled", s.Throttled, "retries", s.Retries, "batch_jobs", jobs)
		}
	}()
	return p
}

func (p *progressReporter) stop() {
	p.cancel()
	p.done.Wait()
}
