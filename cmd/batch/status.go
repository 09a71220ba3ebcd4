package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/manifest"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

func statusCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("batch status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: batch status --output DIR|s3://bucket/prefix/\n\n"+
			"Reports a job's output per shard and in total: records with a row, ok,\n"+
			"error, tokens, estimated cost, and whether the job is complete.\n"+
			"Exit status 0 when complete, 1 when not (or unreadable).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var cfg config.Config
	fs.StringVar(&cfg.Output, "output", "", "the job's output `DIR` or s3://bucket/prefix/")
	fs.StringVar(&cfg.Region, "region", "", "AWS region")
	fs.StringVar(&cfg.S3Endpoint, "s3-endpoint", "", "S3 endpoint `URL`")
	fs.BoolVar(&cfg.S3PathStyle, "s3-path-style", false, "use path-style S3 addressing")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if cfg.Output == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "batch status: give --output and nothing else")
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
	out, err := storage.NewRouter(s3Store(awsConfig, &cfg)).Dir(ctx, cfg.Output)
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
	if !status.Complete {
		return exitFailed
	}
	return exitOK
}
