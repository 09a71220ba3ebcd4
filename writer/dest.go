package writer

import (
	"context"
	"io"
)

// Destination is where data files are created: a local directory now, an
// S3 prefix later. Names are plain file names, never paths.
type Destination interface {
	// Create starts a new file called name. It fails if name is taken.
	Create(ctx context.Context, name string) (Object, error)
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
