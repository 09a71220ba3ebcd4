package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// WriteChecker is a Dir with a probe of its own for CheckWritable: an S3
// prefix starts a multipart upload and aborts it, which needs exactly the
// permissions its writes need and leaves no object behind.
type WriteChecker interface {
	CheckWritable(ctx context.Context) error
}

// CheckWritable tells, before any paid work, whether files can be written
// to dir. A Dir that is a WriteChecker probes its own way; any other
// creates a "_write-check-<random>" file and removes it. The error says
// what was denied, and where.
func CheckWritable(ctx context.Context, dir Dir) error {
	if c, ok := dir.(WriteChecker); ok {
		return c.CheckWritable(ctx)
	}
	name := "_write-check-" + randomHex(8)
	if err := dir.PutIfAbsent(ctx, name, []byte("bedrock-batch write check\n")); err != nil {
		return fmt.Errorf("checking that %s is writable: %w", dir.URI(""), err)
	}
	if err := dir.Remove(ctx, name); err != nil {
		return fmt.Errorf("checking that %s is writable: %w", dir.URI(""), err)
	}
	return nil
}

// Abandoner is a Dir that can clean up after a failed run: S3 multipart
// uploads it started and never completed are aborted, so no storage is
// billed for them.
type Abandoner interface {
	AbortIncomplete(ctx context.Context) (int, error)
}

// Abandon aborts the unfinished uploads of dir, when it keeps any, and
// returns how many it aborted.
func Abandon(ctx context.Context, dir Dir) (int, error) {
	if a, ok := dir.(Abandoner); ok {
		return a.AbortIncomplete(ctx)
	}
	return 0, nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
