// Package storage is where a run's files live. Dir is one small interface
// over a folder of files, a local directory or an S3 prefix; Router picks
// the backend once from each path or URI, so nothing else in the program
// asks whether a path is on S3.
//
// Every backend reports a missing file as an error wrapping fs.ErrNotExist,
// a denied request as one wrapping fs.ErrPermission, a name already taken
// as one wrapping fs.ErrExist, and a store that did not answer (5xx,
// throttling, a broken connection, after retries) as one wrapping
// ErrUnavailable, so callers test one sentinel.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrUnavailable says the store did not answer: trying again later may
// work, unlike a missing file or a denied request.
var ErrUnavailable = errors.New("storage unavailable")

// Dir is a folder of files: a local directory or an S3 prefix. Names are
// relative to it, "/"-separated, and may hold subfolders ("meta/a.jsonl").
// Implementations are safe for concurrent use; an Object is not.
type Dir interface {
	// Open opens a file for reading from start to end.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// OpenAt opens a file for random access and returns its size.
	OpenAt(ctx context.Context, name string) (io.ReaderAt, int64, io.Closer, error)
	// Get reads a small file whole.
	Get(ctx context.Context, name string) ([]byte, error)
	// Create starts a file that is invisible under its name until Commit.
	// It fails, wrapping fs.ErrExist, when the name is taken.
	Create(ctx context.Context, name string) (Object, error)
	// Put writes a small file whole, replacing any file of that name so
	// that a reader sees the old content or the new, never part of either.
	Put(ctx context.Context, name string, data []byte) error
	// PutIfAbsent is Put that fails, wrapping fs.ErrExist, when the name is
	// taken: a conditional create, which two writers cannot both win.
	PutIfAbsent(ctx context.Context, name string, data []byte) error
	// List returns the names of the files whose name starts with prefix,
	// at any depth, sorted. Files being written (Create before Commit) do
	// not appear, except the temporary files of a local directory (their
	// base names start with TempPrefix), which a killed run leaves behind
	// for the next run to clean up. A missing folder lists nothing.
	List(ctx context.Context, prefix string) ([]string, error)
	// Remove deletes a file; a missing file is not an error.
	Remove(ctx context.Context, name string) error
	// GetVersion reads a small file whole, with the Version of what it
	// read, for a later ReplaceIf.
	GetVersion(ctx context.Context, name string) ([]byte, Version, error)
	// ReplaceIf replaces a small file, as Put does, only while it still
	// holds version v, and returns the new version: a compare-and-swap,
	// which of two writers holding the same version only one wins. A file
	// that has another version, or is gone, is left alone and the error
	// wraps ErrChanged.
	ReplaceIf(ctx context.Context, name string, data []byte, v Version) (Version, error)
	// URI is the full path or URI of a name, for messages and for others
	// (Bedrock's service role) to find the file.
	URI(name string) string
}

// Object is a file being written. It is invisible under its final name
// until Commit; Abort removes it. After either, only Abort may be called
// again, and does nothing.
type Object interface {
	io.Writer
	// Commit makes the file durable and visible under its final name.
	Commit() error
	// Abort drops the file.
	Abort() error
}

// Opener opens files by full path or URI, wherever they live: the inputs
// and the documents and images records name. Router is the one
// implementation a run uses.
type Opener interface {
	// Open opens a file for reading from start to end.
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// OpenAt opens a file for random access and returns its size.
	OpenAt(ctx context.Context, path string) (io.ReaderAt, int64, io.Closer, error)
}

// TempPrefix starts the base name of a local file still being written.
// Every name starting with "_" is bookkeeping, never data.
const TempPrefix = "_tmp-"

// CheckName rejects names that are not plain relative paths: empty, with
// an empty, "." or ".." element, absolute, or holding a backslash.
func CheckName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, `\`) {
		return fmt.Errorf("storage: invalid file name %q", name)
	}
	for _, elem := range strings.Split(name, "/") {
		if elem == "" || elem == "." || elem == ".." {
			return fmt.Errorf("storage: invalid file name %q", name)
		}
	}
	return nil
}
