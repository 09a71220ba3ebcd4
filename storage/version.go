package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
)

// Version names one content of a file, so that it is replaced only if
// nobody else replaced it since it was read: an S3 ETag, or a digest of
// the bytes of a local or in-memory file. Two versions of one file are
// equal only when nothing changed it in between.
type Version string

// ErrChanged says a conditional replace found the file changed since its
// version was read, or gone.
var ErrChanged = errors.New("the file changed since it was read")

// DigestVersion is the version of a file that keeps no version of its own:
// a digest of its bytes.
func DigestVersion(data []byte) Version {
	sum := sha256.Sum256(data)
	return Version(hex.EncodeToString(sum[:16]))
}

// Appender is a Dir whose files can grow in place: a local directory. A
// journal appends batches of rows to one file and syncs it, rather than
// writing a new object per batch.
type Appender interface {
	// CreateAppend creates a new file, visible under its name at once,
	// that grows by appending. It fails, wrapping fs.ErrExist, when the
	// name is taken. What was written before a crash and not synced may be
	// lost, or its last line torn: readers of such a file drop a torn end.
	CreateAppend(ctx context.Context, name string) (AppendFile, error)
}

// AppendFile is a file being appended to.
type AppendFile interface {
	io.Writer
	// Sync makes everything written so far durable.
	Sync() error
	// Truncate cuts the file back to size bytes, undoing a write that
	// failed half way, so that it can be written again whole.
	Truncate(size int64) error
	Close() error
}

// Linker is a Dir that can give a file a second name without copying it
// (a local directory's hard link): a journal file whose lines are exactly
// a JSONL data file's becomes that data file, and is not written twice.
type Linker interface {
	// Link makes the file old durable and gives it the name new as well,
	// durably, leaving old as it is. It fails, wrapping fs.ErrExist, when
	// new is taken.
	Link(ctx context.Context, old, new string) error
}

// FolderRemover is a Dir whose folders are things of their own (a local
// directory), which stay behind when their last file is removed.
type FolderRemover interface {
	// RemoveEmptyFolder removes a folder that holds nothing; one that is
	// not empty, or gone, is left as it is.
	RemoveEmptyFolder(ctx context.Context, folder string) error
}

// FailFaster is a Dir whose client tries a failed request again by
// itself (S3, with backoff, for a minute or more).
type FailFaster interface {
	// FailFast is the same folder with each request tried once, for a
	// writer that tries again itself and must know of a failure at once.
	FailFast() Dir
}

// FailFast returns dir with each request tried once, when its client
// would try again by itself; otherwise dir.
func FailFast(dir Dir) Dir {
	if f, ok := dir.(FailFaster); ok {
		return f.FailFast()
	}
	return dir
}
