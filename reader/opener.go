package reader

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Opener opens input files by path. It is the one place that knows where
// bytes live: Local reads the local file system, and another backend (S3)
// only has to implement these two methods. A missing file is an error
// wrapping os.ErrNotExist from every implementation.
type Opener interface {
	// Open opens path for reading from start to end (JSONL).
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// OpenAt opens path for random access (Parquet) and returns its size.
	OpenAt(ctx context.Context, path string) (io.ReaderAt, int64, io.Closer, error)
}

// Local is the Opener of local files.
type Local struct{}

var _ Opener = Local{}

// Open opens a local file for reading.
func (Local) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	f, _, err := openLocal(path)
	return f, err
}

// OpenAt opens a local file for random access.
func (Local) OpenAt(ctx context.Context, path string) (io.ReaderAt, int64, io.Closer, error) {
	f, size, err := openLocal(path)
	if err != nil {
		return nil, 0, nil, err
	}
	return f, size, f, nil
}

// openLocal opens a regular file and returns its size.
func openLocal(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err // an *fs.PathError naming the path
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		err = fmt.Errorf("%s is a directory", path)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}
