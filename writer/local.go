package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix starts the name of a file that is still being written.
// Every name starting with "_" is bookkeeping, never data.
const TempPrefix = "_tmp-"

// LocalDir is a Destination in a local directory. A file is written as
// "<dir>/_tmp-<name>" and renamed to "<dir>/<name>" on Commit.
type LocalDir struct {
	dir string
}

var _ Destination = (*LocalDir)(nil)

// NewLocalDir returns the Destination of dir, creating it if need be.
func NewLocalDir(dir string) (*LocalDir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("writer: %w", err)
	}
	return &LocalDir{dir: dir}, nil
}

// Dir returns the directory.
func (d *LocalDir) Dir() string { return d.dir }

// Create starts writing "<dir>/_tmp-<name>". It fails with an error
// wrapping fs.ErrExist when <name> or its temporary file already exists.
func (d *LocalDir) Create(ctx context.Context, name string) (Object, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	final := filepath.Join(d.dir, name)
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("writer: %s: %w", final, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("writer: %w", err)
	}
	tmp := filepath.Join(d.dir, TempPrefix+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("writer: %w", err)
	}
	return &localFile{f: f, dir: d.dir, tmp: tmp, final: final}, nil
}

// checkName rejects names that are paths or bookkeeping names.
func checkName(name string) error {
	switch {
	case name == "", name == ".", name == "..", strings.ContainsAny(name, `/\`):
		return fmt.Errorf("writer: invalid file name %q", name)
	case strings.HasPrefix(name, "_"):
		return fmt.Errorf("writer: invalid file name %q: names starting with _ are reserved", name)
	}
	return nil
}

// localFile is an Object in a LocalDir.
type localFile struct {
	f          *os.File // nil once committed or aborted
	dir        string
	tmp, final string
}

func (o *localFile) Write(p []byte) (int, error) {
	if o.f == nil {
		return 0, fs.ErrClosed
	}
	return o.f.Write(p)
}

// Commit syncs and closes the file, renames it to its final name and syncs
// the directory, so the rename survives a crash.
func (o *localFile) Commit() error {
	if o.f == nil {
		return fmt.Errorf("writer: commit %s: %w", o.final, fs.ErrClosed)
	}
	f := o.f
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if _, serr := os.Lstat(o.final); serr == nil {
			err = fmt.Errorf("%s: %w", o.final, fs.ErrExist)
		}
	}
	if err == nil {
		err = os.Rename(o.tmp, o.final)
	}
	if err != nil {
		os.Remove(o.tmp)
		o.f = nil
		return fmt.Errorf("writer: commit: %w", err)
	}
	o.f = nil
	if err := syncDir(o.dir); err != nil {
		return fmt.Errorf("writer: commit %s: %w", o.final, err)
	}
	return nil
}

// Abort closes and removes the temporary file.
func (o *localFile) Abort() error {
	if o.f == nil {
		return nil
	}
	cerr := o.f.Close()
	o.f = nil
	if err := os.Remove(o.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("writer: abort: %w", err)
	}
	if cerr != nil && !errors.Is(cerr, fs.ErrClosed) {
		return fmt.Errorf("writer: abort: %w", cerr)
	}
	return nil
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
