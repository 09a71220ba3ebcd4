package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/bedrock-batch/bedrock-batch/jobs"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/s3store"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// storage routes every path to where its bytes live: s3:// URIs to S3,
// everything else to the local file system. It is the run's reader.Opener.
type storage struct {
	local reader.Local
	s3    *s3store.Store
}

var _ reader.Opener = (*storage)(nil)

func newStorage(awsConfig aws.Config, cfg *jobs.Config) *storage {
	return &storage{s3: s3store.New(awsConfig, s3store.Options{Endpoint: cfg.S3Endpoint, PathStyle: cfg.S3PathStyle})}
}

func (s *storage) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	if s3store.IsURI(path) {
		return s.s3.Open(ctx, path)
	}
	return s.local.Open(ctx, path)
}

func (s *storage) OpenAt(ctx context.Context, path string) (io.ReaderAt, int64, io.Closer, error) {
	if s3store.IsURI(path) {
		return s.s3.OpenAt(ctx, path)
	}
	return s.local.OpenAt(ctx, path)
}

// inputs expands the configured inputs (files, globs, S3 keys, prefixes and
// globs) into the files to read, each with its format.
func (s *storage) inputs(ctx context.Context, cfg *jobs.Config) ([]reader.Input, error) {
	var paths []string
	for _, pattern := range cfg.Inputs {
		var matched []string
		var err error
		if s3store.IsURI(pattern) {
			matched, err = s.s3.Expand(ctx, pattern)
		} else {
			matched, err = reader.Expand([]string{pattern})
		}
		if err != nil {
			return nil, err
		}
		paths = append(paths, matched...)
	}
	inputs := make([]reader.Input, len(paths))
	for i, p := range paths {
		inputs[i] = reader.Input{Path: p, Format: reader.Format(cfg.InputFormat)}
		if inputs[i].Format == "" {
			format, err := reader.FormatOf(p)
			if err != nil {
				return nil, fmt.Errorf("%w (use --input-format)", err)
			}
			inputs[i].Format = format
		}
	}
	return inputs, nil
}

// outputDir is what a run needs of its output location.
type outputDir interface {
	writer.Destination
	List(ctx context.Context) ([]string, error)
	Put(ctx context.Context, name string, data []byte) error
	Get(ctx context.Context, name string) ([]byte, error)
	String() string
}

// outputLocation is a local directory or an S3 prefix.
type outputLocation struct {
	outputDir
	local *writer.LocalDir
	s3    *s3store.Dir
}

// output opens the output location and, for S3, checks it can be written,
// before the first paid call.
func (s *storage) output(ctx context.Context, path string) (*outputLocation, error) {
	if s3store.IsURI(path) {
		dir, err := s.s3.Dir(ctx, path)
		if err != nil {
			return nil, err
		}
		if err := dir.CheckWritable(ctx); err != nil {
			return nil, err
		}
		return &outputLocation{outputDir: dir, s3: dir}, nil
	}
	dir, err := writer.NewLocalDir(path)
	if err != nil {
		return nil, err
	}
	return &outputLocation{outputDir: dir, local: dir}, nil
}

// existingOutput opens an output location to read, without checking it
// can be written or creating it.
func (s *storage) existingOutput(ctx context.Context, path string) (*outputLocation, error) {
	if s3store.IsURI(path) {
		dir, err := s.s3.Dir(ctx, path)
		if err != nil {
			return nil, err
		}
		return &outputLocation{outputDir: dir, s3: dir}, nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return s.output(ctx, path)
}

// Path is the full path or URI of a file in the location.
func (o *outputLocation) Path(name string) string {
	if o.s3 != nil {
		return o.s3.String() + name
	}
	return o.local.Path(name)
}

// Remove deletes a file of the location.
func (o *outputLocation) Remove(ctx context.Context, name string) error {
	if o.s3 != nil {
		return o.s3.Remove(ctx, name)
	}
	return o.local.Remove(ctx, name)
}

// abandon cleans up after a failed run: multipart uploads it started and
// did not complete are aborted, so no storage is billed for them.
func (o *outputLocation) abandon(ctx context.Context, logger *slog.Logger) {
	if o.s3 == nil {
		return
	}
	n, err := o.s3.AbortIncomplete(ctx)
	if err != nil {
		logger.Error("aborting unfinished uploads", "output", o.String(), "error", err)
		return
	}
	if n > 0 {
		logger.Info("aborted unfinished uploads", "output", o.String(), "count", n)
	}
}
