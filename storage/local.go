package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// LocalDir is a Dir in a local directory, made when the first file is
// written. A file is written as "_tmp-<base>" beside its final name and
// renamed to it on Commit, after an fsync of the file and then of the
// directory, so a crash leaves the old state or the new, never a torn file.
// Every file it makes has mode FileMode and every folder DirMode, both
// masked by the process's umask.
type LocalDir struct {
	root string
}

var (
	_ Dir = (*LocalDir)(nil)
)

// NewLocalDir returns the Dir of a local directory; it makes nothing yet.
func NewLocalDir(root string) *LocalDir { return &LocalDir{root: root} }

// path is where name lives on disk.
func (d *LocalDir) path(name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	return filepath.Join(d.root, filepath.FromSlash(name)), nil
}

// URI is the local path of name; "" is the directory itself.
func (d *LocalDir) URI(name string) string {
	if name == "" {
		return d.root
	}
	return filepath.Join(d.root, filepath.FromSlash(name))
}

// String is the directory's path.
func (d *LocalDir) String() string { return d.root }

// Open opens a file for reading.
func (d *LocalDir) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	f, _, err := openLocal(p)
	return f, err
}

// OpenAt opens a file for random access.
func (d *LocalDir) OpenAt(ctx context.Context, name string) (io.ReaderAt, int64, io.Closer, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, 0, nil, err
	}
	return openLocalAt(p)
}

// Get reads a file whole.
func (d *LocalDir) Get(ctx context.Context, name string) ([]byte, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p) // an *fs.PathError naming the path
}

// Create starts writing "<folder>/_tmp-<base>" for name.
func (d *LocalDir) Create(ctx context.Context, name string) (Object, error) {
	final, err := d.path(name)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("storage: create %s: %w", final, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("storage: create %s: %w", final, err)
	}
	folder := filepath.Dir(final)
	if err := os.MkdirAll(folder, DirMode); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	tmp := filepath.Join(folder, TempPrefix+filepath.Base(final))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &localFile{f: f, folder: folder, tmp: tmp, final: final}, nil
}

// Put writes a file whole through a temporary file and a rename.
func (d *LocalDir) Put(ctx context.Context, name string, data []byte) error {
	return d.put(name, data, false)
}

// PutIfAbsent writes a file whole unless it exists. The new file is linked
// to its name, which fails when the name is taken, so two writers cannot
// both succeed.
func (d *LocalDir) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	return d.put(name, data, true)
}

func (d *LocalDir) put(name string, data []byte, exclusive bool) error {
	final, err := d.path(name)
	if err != nil {
		return err
	}
	folder := filepath.Dir(final)
	if err := os.MkdirAll(folder, DirMode); err != nil {
		return fmt.Errorf("writing %s: %w", final, err)
	}
	tmp, err := createTemp(folder, TempPrefix+"put-"+filepath.Base(final)+"-")
	if err != nil {
		return fmt.Errorf("writing %s: %w", final, err)
	}
	defer os.Remove(tmp.Name()) // after the rename or link there is nothing to remove
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil && exclusive {
		err = os.Link(tmp.Name(), final)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("storage: create %s: %w", final, fs.ErrExist)
		}
	} else if err == nil {
		err = os.Rename(tmp.Name(), final)
	}
	if err == nil {
		err = syncDir(folder)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", final, err)
	}
	return nil
}

// List walks the folder of prefix and returns the regular files under it.
func (d *LocalDir) List(ctx context.Context, prefix string) ([]string, error) {
	folder, _ := path.Split(prefix)
	start := d.root
	if folder != "" {
		if err := CheckName(strings.TrimSuffix(folder, "/")); err != nil {
			return nil, err
		}
		start = filepath.Join(d.root, filepath.FromSlash(folder))
	}
	var names []string
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == start {
				return fs.SkipAll
			}
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		if name := filepath.ToSlash(rel); strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", start, err)
	}
	slices.Sort(names)
	return names, nil
}

// Remove deletes a file; a missing one is not an error.
func (d *LocalDir) Remove(ctx context.Context, name string) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", p, err)
	}
	return nil
}

// localFile is an Object in a LocalDir.
type localFile struct {
	f          *os.File // nil once committed or aborted
	folder     string
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
		return fmt.Errorf("storage: commit %s: %w", o.final, fs.ErrClosed)
	}
	f := o.f
	o.f = nil
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
		return fmt.Errorf("storage: commit: %w", err)
	}
	if err := syncDir(o.folder); err != nil {
		return fmt.Errorf("storage: commit %s: %w", o.final, err)
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
		return fmt.Errorf("storage: abort: %w", err)
	}
	if cerr != nil && !errors.Is(cerr, fs.ErrClosed) {
		return fmt.Errorf("storage: abort: %w", cerr)
	}
	return nil
}

// syncDir makes the entries of a directory (a rename, a new file) durable.
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

// openLocal opens a regular file and returns its size.
func openLocal(p string) (*os.File, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, err // an *fs.PathError naming the path
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		err = fmt.Errorf("%s is a directory", p)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// openLocalAt opens a regular file for random access.
func openLocalAt(p string) (io.ReaderAt, int64, io.Closer, error) {
	f, size, err := openLocal(p)
	if err != nil {
		return nil, 0, nil, err
	}
	return f, size, f, nil
}
