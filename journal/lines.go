package journal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// ReadLines calls fn for every whole line of a journal file, newline
// included, with its line number. A last line without its newline is the
// torn end of a write a kill cut short (or that a crash did not sync): it
// was never acknowledged as durable, and is left out. The line passed to fn
// is valid only during the call.
func ReadLines(ctx context.Context, dir storage.Dir, name string, fn func(line []byte, n int) error) error {
	rc, err := dir.Open(ctx, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it whole.
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err == nil {
			if fnErr := fn(line, n); fnErr != nil {
				return fmt.Errorf("%s line %d: %w", dir.URI(name), n, fnErr)
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			return nil // a torn last line, if any, is dropped
		}
		return fmt.Errorf("reading %s: %w", dir.URI(name), err)
	}
}

// CountRows counts the rows in an output's journal that no data file
// holds yet, in every shard's groups: rows durable but not written out,
// because a run is writing them or was stopped before it did. names are
// the output's names (storage.Dir.List of "").
func CountRows(ctx context.Context, dir storage.Dir, names []string) (int64, error) {
	groups, superseded := Groups(names)
	var rows int64
	for g, segments := range groups {
		if slices.Contains(superseded, g) {
			continue
		}
		for _, name := range segments {
			err := ReadLines(ctx, dir, name, func([]byte, int) error {
				rows++
				return nil
			})
			if errors.Is(err, fs.ErrNotExist) {
				continue // written out and removed since the listing
			}
			if err != nil {
				return 0, err
			}
		}
	}
	return rows, nil
}
