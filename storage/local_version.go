package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

var (
	_ Appender      = (*LocalDir)(nil)
	_ Linker        = (*LocalDir)(nil)
	_ FolderRemover = (*LocalDir)(nil)
)

// GetVersion reads a file whole with its version, a digest of its bytes.
func (d *LocalDir) GetVersion(ctx context.Context, name string) ([]byte, Version, error) {
	data, err := d.Get(ctx, name)
	if err != nil {
		return nil, "", err
	}
	return data, DigestVersion(data), nil
}

// ReplaceIf replaces a file through a temporary file and a rename, as Put
// does, if its bytes still have version v. The check and the rename hold
// an exclusive lock (flock) on the folder, so two processes of the same
// machine, or of machines sharing a file system that honours flock,
// cannot both replace one version.
func (d *LocalDir) ReplaceIf(ctx context.Context, name string, data []byte, v Version) (Version, error) {
	final, err := d.path(name)
	if err != nil {
		return "", err
	}
	folder := filepath.Dir(final)
	unlock, err := lockFolder(folder)
	if err != nil {
		return "", fmt.Errorf("replacing %s: %w", final, err)
	}
	defer unlock()
	current, err := os.ReadFile(final)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("replacing %s: %w (it is gone: %w)", final, ErrChanged, err)
	case err != nil:
		return "", fmt.Errorf("replacing %s: %w", final, err)
	case DigestVersion(current) != v:
		return "", fmt.Errorf("replacing %s: %w", final, ErrChanged)
	}
	if err := d.put(name, data, false); err != nil {
		return "", err
	}
	return DigestVersion(data), nil
}

// CreateAppend creates a file to append to, with its folder.
func (d *LocalDir) CreateAppend(ctx context.Context, name string) (AppendFile, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	folder := filepath.Dir(p)
	if err := os.MkdirAll(folder, DirMode); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, FileMode)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	// The new name must survive a crash too, or the synced rows in it
	// would be lost with it.
	if err := syncDir(folder); err != nil {
		f.Close()
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &appendFile{f: f}, nil
}

// Link gives the file old the name new as well: a hard link, so the new
// name's bytes are old's, written once. Old is synced first (a killed
// run's last writes may still be only in the page cache), and new's folder
// after, so the name survives a crash.
func (d *LocalDir) Link(ctx context.Context, old, new string) error {
	src, err := d.path(old)
	if err != nil {
		return err
	}
	dst, err := d.path(new)
	if err != nil {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("storage: link %s: %w", src, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("storage: link %s: %w", src, err)
	}
	folder := filepath.Dir(dst)
	if err := os.MkdirAll(folder, DirMode); err != nil {
		return fmt.Errorf("storage: link %s: %w", dst, err)
	}
	if err := os.Link(src, dst); err != nil {
		// A taken name wraps fs.ErrExist (EEXIST), as Create's does.
		return fmt.Errorf("storage: link %s to %s: %w", src, dst, err)
	}
	if err := syncDir(folder); err != nil {
		return fmt.Errorf("storage: link %s: %w", dst, err)
	}
	return nil
}

// appendFile is a local file opened for appending.
type appendFile struct{ f *os.File }

func (a *appendFile) Write(p []byte) (int, error) { return a.f.Write(p) }
func (a *appendFile) Sync() error                 { return a.f.Sync() }
func (a *appendFile) Close() error                { return a.f.Close() }

// Truncate cuts the file back; appends go on from its new end (O_APPEND).
func (a *appendFile) Truncate(size int64) error { return a.f.Truncate(size) }

// RemoveEmptyFolder removes an empty folder of the directory.
func (d *LocalDir) RemoveEmptyFolder(ctx context.Context, folder string) error {
	p, err := d.path(folder)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("removing %s: %w", p, err)
	}
	return nil
}
