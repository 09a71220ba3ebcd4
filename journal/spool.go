package journal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bedrock-batch/bedrock-batch/shard"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// Spool keeps on the local disk the rows an output could not take: while
// the output fails, every row not yet in it is appended here and synced,
// so a run that gives up on its output loses nothing it paid for, and the
// next run on this machine commits the spooled rows instead of paying for
// them again. A Spool is not safe for concurrent use; the Journal owns it.
type Spool struct {
	dir  *storage.LocalDir
	name string
	file storage.AppendFile // nil until the first row
	size int64
}

// SpoolFolder is where the rows of one output shard are spooled, under
// base: one folder per output and shard, named by a digest of both, so
// that only a run of the same shard finds them.
func SpoolFolder(base, outputURI string, owner shard.Shard) string {
	sum := sha256.Sum256([]byte(outputURI + "\x00" + owner.String()))
	return filepath.Join(base, hex.EncodeToString(sum[:12]))
}

// NewSpool returns the spool of one run in folder; nothing is made until
// a row is spooled.
func NewSpool(folder, runID string) *Spool {
	return &Spool{dir: storage.NewLocalDir(folder), name: runID + ".jsonl"}
}

// Path is the spool file's path.
func (s *Spool) Path() string { return s.dir.URI(s.name) }

// append adds lines and syncs them.
func (s *Spool) append(ctx context.Context, data []byte) error {
	if s.file == nil {
		f, err := s.dir.CreateAppend(ctx, s.name)
		if err != nil {
			return fmt.Errorf("spooling rows: %w", err)
		}
		s.file = f
	}
	_, err := s.file.Write(data)
	if err == nil {
		err = s.file.Sync()
	}
	if err != nil {
		s.file.Truncate(s.size) // best effort: a torn end is dropped when read anyway
		return fmt.Errorf("spooling rows to %s: %w", s.Path(), err)
	}
	s.size += int64(len(data))
	return nil
}

// reset empties the spool once its rows are in the output.
func (s *Spool) reset() error {
	if s.file == nil || s.size == 0 {
		return nil
	}
	if err := s.file.Truncate(0); err != nil {
		return err
	}
	s.size = 0
	return s.file.Sync()
}

// Close closes the spool file, and removes it when it holds no row.
func (s *Spool) Close() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file = nil
	if s.size == 0 {
		err = s.dir.Remove(context.Background(), s.name)
	}
	return err
}

// Rows reports how many bytes of rows the spool holds.
func (s *Spool) Rows() int64 { return s.size }

// Spooled lists the spool files earlier runs left in folder, oldest first.
func Spooled(folder string) ([]string, error) {
	entries, err := os.ReadDir(folder)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the spool %s: %w", folder, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".jsonl") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// ReadSpooled calls fn for every whole line of a spool file in folder.
func ReadSpooled(ctx context.Context, folder, name string, fn func(line []byte, n int) error) error {
	return ReadLines(ctx, storage.NewLocalDir(folder), name, fn)
}

// RemoveSpooled removes a spool file whose rows are in the output.
func RemoveSpooled(folder, name string) error {
	return storage.NewLocalDir(folder).Remove(context.Background(), name)
}
