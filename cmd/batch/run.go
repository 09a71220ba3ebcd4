package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/bedrock-batch/bedrock-batch/config"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/run"
)

const runUsage = `Usage: batch %[1]s --input PATH... --output DIR --model MODEL_ID [flags]
       batch %[1]s --job job.yaml [flags]

Reads every record of the inputs, calls Bedrock Converse for each, and writes
one row per record (in any order) to data files in DIR, then DIR/_manifest.json.

Input records (JSONL, one object a line): {"id": "q1", "prompt": "..."} or
{"id": 7, "messages": [{"role": "user", "content": [{"text": "..."}]}]},
optional "system", "metadata", "model", "inference_config",
"additional_model_request_fields", "documents" and "images"; Bedrock batch
({"recordId", "modelInput"}) and OpenAI batch ({"custom_id", "body"}) records
as they are. Parquet: the same as columns. With --template, any fields.

Credentials and region come from the standard AWS chain (environment,
profile, SSO, task or instance role).

Exit status: 0 every row ok; 3 finished but some rows are errors;
1 the run could not finish; 2 usage error; 4 stopped at a daily quota that
resets later (run the same command again to continue); 5 another run holds
the output (shard) and this one sent nothing (--wait waits for it).

Every flag is also a job-file key of the same name (--job).
`

// printRunUsage writes the help of run (or validate, which takes the same
// flags): what it does, then every option by section.
func printRunUsage(w io.Writer, command string) {
	fmt.Fprintf(w, runUsage, command)
	config.PrintOptions(w)
}

func runCommand(args []string, stdout, stderr io.Writer) int {
	return runOrCheck(args, false, stdout, stderr)
}

// validateCommand checks a job without calling the model.
func validateCommand(args []string, stdout, stderr io.Writer) int {
	return runOrCheck(args, true, stdout, stderr)
}

func runOrCheck(args []string, check bool, stdout, stderr io.Writer) int {
	command := "run"
	if check {
		command = "validate"
	}
	cfg, err := config.Parse(args, os.Getenv)
	if errors.Is(err, config.ErrHelp) {
		printRunUsage(stdout, command)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "batch %s: %v\nSee \"batch help %s\".\n", command, err, command)
		return exitUsage
	}
	demo := cfg.Demo
	var handler slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})
	if cfg.LogFormat == config.LogJSON {
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})
	}
	logger := slog.New(handler)
	ctx := context.Background()
	if demo {
		emulator := bedrocktest.NewServer(bedrocktest.Options{Latency: 20 * time.Millisecond, Account: demoAccount})
		defer emulator.Close()
		cfg.BedrockEndpoint, cfg.Region = emulator.URL, "us-east-1"
		cfg.ServiceQuotasEndpoint, cfg.ControlEndpoint = emulator.URL, emulator.URL
		logger.Info("demo: calling the built-in Bedrock emulator", "endpoint", emulator.URL)
	}
	deps, err := connect(ctx, cfg, demo)
	if err != nil {
		fmt.Fprintf(stderr, "batch run: loading AWS configuration: %v\n", err)
		return exitFailed
	}
	deps.Logger = logger
	deps.Progress = stderr
	deps.ProgressInterval = cfg.ProgressInterval
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		deps.Terminal, deps.ProgressInterval = true, 0 // a live line
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	deps.Signals = signals
	deps.ReadOnly = check || cfg.DryRun

	r, err := run.Open(ctx, cfg, deps)
	if err != nil {
		fmt.Fprintf(stderr, "batch %s: %v\n", command, err)
		switch {
		case run.IsLeaseHeld(err):
			return exitLeaseHeld
		case run.IsSetup(err):
			return exitUsage
		}
		return exitFailed
	}
	if check || cfg.DryRun {
		survey := r.DryRun
		if check {
			survey = r.Validate
		}
		s, err := survey(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "batch run: %v\n", err)
			return exitFailed
		}
		s.Print(stdout)
		switch {
		case s.SetupProblems():
			return exitUsage
		case !s.OK():
			return exitSomeErrors // records that would become error rows
		}
		return exitOK
	}
	runErr := r.Run(ctx)
	m, closeErr := r.Close(ctx)
	if closeErr != nil {
		if runErr == nil {
			runErr = closeErr
		} else {
			logger.Error("the manifest could not be written either", "output", r.Output().URI(""), "error", closeErr)
		}
	}
	if m != nil {
		m.PrintSummary(stdout, r.Output().URI)
	}
	return exitStatus(m, runErr, stderr)
}

// demoAccount is the demo emulator's account: the demo model's quota is
// read from its Service Quotas, as a real account's would be.
var demoAccount = &bedrocktest.AccountQuotas{Models: map[string]bedrocktest.ModelQuotas{
	"demo.echo-v1": {TokensPerMinute: 2_000_000, TokensPerDay: 2_880_000_000},
}}

// exitStatus says how a run ended, on stderr and in its exit status.
func exitStatus(m *manifest.Manifest, runErr error, stderr io.Writer) int {
	switch {
	case runErr != nil:
		fmt.Fprintf(stderr, "batch run: %v\n", runErr)
		if run.IsSetup(runErr) {
			return exitUsage
		}
		return exitFailed
	case len(m.StoppedAtQuota) > 0:
		for model, why := range m.StoppedAtQuota {
			fmt.Fprintf(stderr, "batch run: stopped at the daily quota of %s: %s\n", model, why)
		}
		fmt.Fprintf(stderr, "batch run: %d records read have no row yet (and any not read); run the same command again after the quota resets to continue\n",
			m.ThisRun.Unwritten)
		return exitQuota
	case m.Interrupted:
		fmt.Fprintf(stderr, "batch run: interrupted: %d of %d records read have a row; run again with the same output to finish\n",
			m.ThisRun.Rows, m.ThisRun.Rows+m.ThisRun.Unwritten)
		return exitFailed
	case m.Counts.Error > 0:
		return exitSomeErrors
	}
	return exitOK
}
