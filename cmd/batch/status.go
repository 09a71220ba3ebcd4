package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// statusOptions are the options of status, shared with run.
var statusOptions = []string{"output", "region", "s3-endpoint", "s3-path-style", "expected-bucket-owner"}

func statusCommand(args []string, stdout, stderr io.Writer) int {
	cfg, err := config.ParseSome(args, statusOptions...)
	if errors.Is(err, config.ErrHelp) {
		fmt.Fprint(stdout, "Usage: batch status --output DIR|s3://bucket/prefix/\n\n"+
			"Reports a job's output per shard and in total: records with a row, ok,\n"+
			"error, tokens, estimated cost, and whether the job is complete.\n"+
			"Exit status 0 when complete, 3 when complete with error rows, 1 when not\n"+
			"complete (or unreadable).\n\nFlags:\n")
		config.PrintSome(stdout, statusOptions...)
		return exitOK
	}
	if err == nil && cfg.Output == "" {
		err = errors.New("give --output")
	}
	if err != nil {
		fmt.Fprintf(stderr, "batch status: %v\nSee \"batch help status\".\n", err)
		return exitUsage
	}
	ctx := context.Background()
	var awsOpts []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		awsOpts = append(awsOpts, awsconfig.WithRegion(cfg.Region))
	}
	awsConfig, err := awsconfig.LoadDefaultConfig(ctx, awsOpts...)
	if err != nil {
		fmt.Fprintf(stderr, "batch status: loading AWS configuration: %v\n", err)
		return exitFailed
	}
	out, err := storage.NewRouter(s3Store(awsConfig, cfg)).Dir(ctx, cfg.Output)
	if err != nil {
		fmt.Fprintf(stderr, "batch status: %v\n", err)
		return exitFailed
	}
	status, err := manifest.ReadStatus(ctx, out)
	if err != nil {
		fmt.Fprintf(stderr, "batch status: %v\n", err)
		return exitFailed
	}
	if err := status.Print(stdout); err != nil {
		return exitFailed
	}
	return status.ExitStatus()
}
