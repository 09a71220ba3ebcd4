package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/bedrock-batch/bedrock-batch/jobs"
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
	var cfg jobs.Config
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
	var awsOpts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		awsOpts = append(awsOpts, config.WithRegion(cfg.Region))
	}
	awsConfig, err := config.LoadDefaultConfig(ctx, awsOpts...)
	if err != nil {
		fmt.Fprintf(stderr, "batch status: loading AWS configuration: %v\n", err)
		return exitFailed
	}
	out, err := newStorage(awsConfig, &cfg).existingOutput(ctx, cfg.Output)
	if err != nil {
		fmt.Fprintf(stderr, "batch status: %v\n", err)
		return exitFailed
	}
	names, err := out.List(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "batch status: %v\n", err)
		return exitFailed
	}
	var manifests [][]byte
	for _, name := range names {
		if !jobs.IsManifestName(name) {
			continue
		}
		data, err := out.Get(ctx, name)
		if err != nil {
			fmt.Fprintf(stderr, "batch status: %v\n", err)
			return exitFailed
		}
		manifests = append(manifests, data)
	}
	if len(manifests) == 0 {
		fmt.Fprintf(stderr, "batch status: %s holds no manifest: no run has ended there yet\n", cfg.Output)
		return exitFailed
	}
	status, err := jobs.NewStatus(manifests)
	if err != nil {
		fmt.Fprintf(stderr, "batch status: %s: %v\n", cfg.Output, err)
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
