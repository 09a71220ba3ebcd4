package writer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// List returns the names of the files directly in the directory, sorted.
func (d *LocalDir) List(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", d.dir, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Put writes a small bookkeeping file (a manifest) whole, replacing any
// file of that name atomically: a reader sees the old content or the new,
// never half of either.
func (d *LocalDir) Put(ctx context.Context, name string, data []byte) error {
	tmp, err := os.CreateTemp(d.dir, TempPrefix+"put-"+name+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(d.dir, name), err)
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing to remove
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(d.dir, name))
	}
	if err == nil {
		err = syncDir(d.dir)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(d.dir, name), err)
	}
	return nil
}

// Get reads a small bookkeeping file whole; a missing one is an error
// wrapping os.ErrNotExist.
func (d *LocalDir) Get(ctx context.Context, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.dir, name))
}

// String is the directory's path.
func (d *LocalDir) String() string { return d.dir }

// Remove deletes a file; a missing one is not an error.
func (d *LocalDir) Remove(ctx context.Context, name string) error {
	if err := os.Remove(filepath.Join(d.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", filepath.Join(d.dir, name), err)
	}
	return nil
}

// Path is where a file of the directory lives.
func (d *LocalDir) Path(name string) string { return filepath.Join(d.dir, name) }
