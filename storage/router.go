package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// S3Scheme starts every S3 URI.
const S3Scheme = "s3://"

// IsS3 reports whether s is an S3 URI ("s3://..."); the scheme's case is
// ignored.
func IsS3(s string) bool {
	return len(s) >= len(S3Scheme) && strings.EqualFold(s[:len(S3Scheme)], S3Scheme)
}

// Backend is where one kind of URI lives: S3 (package s3store).
type Backend interface {
	Open(ctx context.Context, uri string) (io.ReadCloser, error)
	OpenAt(ctx context.Context, uri string) (io.ReaderAt, int64, io.Closer, error)
	// Expand turns a URI, a prefix or a glob into the input files it names.
	Expand(ctx context.Context, pattern string) ([]string, error)
	// OpenDir returns the folder at a URI; it makes no request.
	OpenDir(ctx context.Context, uri string) (Dir, error)
}

// Router sends every path or URI to where its bytes live: s3:// URIs to
// S3, everything else to the local file system. It is the run's Opener.
type Router struct {
	s3 Backend
}

var _ Opener = (*Router)(nil)

// NewRouter returns a Router with s3 for S3 URIs; with s3 nil, an S3 URI
// is an error.
func NewRouter(s3 Backend) *Router { return &Router{s3: s3} }

var errNoS3 = errors.New("storage: S3 is not set up for this run")

// backend is the backend of uri, nil for a local path.
func (r *Router) backend(uri string) (Backend, bool, error) {
	if !IsS3(uri) {
		return nil, false, nil
	}
	if r.s3 == nil {
		return nil, true, fmt.Errorf("%s: %w", uri, errNoS3)
	}
	return r.s3, true, nil
}

// Open opens a file for reading from start to end.
func (r *Router) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	b, remote, err := r.backend(path)
	switch {
	case err != nil:
		return nil, err
	case remote:
		return b.Open(ctx, path)
	}
	f, _, err := openLocal(path)
	return f, err
}

// OpenAt opens a file for random access and returns its size.
func (r *Router) OpenAt(ctx context.Context, path string) (io.ReaderAt, int64, io.Closer, error) {
	b, remote, err := r.backend(path)
	switch {
	case err != nil:
		return nil, 0, nil, err
	case remote:
		return b.OpenAt(ctx, path)
	}
	return openLocalAt(path)
}

// Dir returns the folder at a path or URI. It makes nothing and checks
// nothing: a local directory is made by its first write, and
// CheckWritable tells whether one can be written.
func (r *Router) Dir(ctx context.Context, path string) (Dir, error) {
	b, remote, err := r.backend(path)
	switch {
	case err != nil:
		return nil, err
	case remote:
		return b.OpenDir(ctx, path)
	}
	return NewLocalDir(path), nil
}

// Expand turns paths, globs, S3 URIs, prefixes and key globs into the
// files they name, in order, each once.
func (r *Router) Expand(ctx context.Context, patterns []string) ([]string, error) {
	var out []string
	for _, pattern := range patterns {
		b, remote, err := r.backend(pattern)
		if err != nil {
			return nil, err
		}
		var matched []string
		if remote {
			matched, err = b.Expand(ctx, pattern)
		} else {
			matched, err = ExpandLocal([]string{pattern})
		}
		if err != nil {
			return nil, err
		}
		out = append(out, matched...)
	}
	return out, nil
}
