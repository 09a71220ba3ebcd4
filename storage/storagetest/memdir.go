// Package storagetest has an in-memory storage.Dir for unit tests, in the
// spirit of testing/fstest: it keeps every contract of the real backends
// (invisible until commit, conditional create, not-found errors) and can
// fail chosen operations, so a test can stop a run between any two steps.
package storagetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// Dir is an in-memory storage.Dir, safe for concurrent use.
type Dir struct {
	// Fail, when set, is asked before every operation ("open", "get",
	// "create", "write", "commit", "put", "list", "remove", "replace",
	// "append", "sync", "truncate") on a name; an error it returns is the
	// operation's.
	Fail func(op, name string) error

	mu    sync.Mutex
	files map[string][]byte
	base  string // URI of the folder, "mem://" unless NewDirAt says
}

var _ storage.Dir = (*Dir)(nil)

// NewDir returns an empty Dir.
func NewDir() *Dir { return NewDirAt("mem://") }

// NewDirAt returns an empty Dir whose URIs start with base (such as
// "s3://stage/area/", for a folder others read by URI).
func NewDirAt(base string) *Dir { return &Dir{files: make(map[string][]byte), base: base} }

func (d *Dir) fail(op, name string) error {
	if d.Fail == nil {
		return nil
	}
	if err := d.Fail(op, name); err != nil {
		return fmt.Errorf("storagetest: %s %s: %w", op, name, err)
	}
	return nil
}

func notExist(name string) error {
	return &fs.PathError{Op: "open", Path: "mem://" + name, Err: fs.ErrNotExist}
}

// Open opens a file for reading.
func (d *Dir) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	data, err := d.read("open", name)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// OpenAt opens a file for random access.
func (d *Dir) OpenAt(ctx context.Context, name string) (io.ReaderAt, int64, io.Closer, error) {
	data, err := d.read("open", name)
	if err != nil {
		return nil, 0, nil, err
	}
	return bytes.NewReader(data), int64(len(data)), io.NopCloser(nil), nil
}

// Get reads a file whole.
func (d *Dir) Get(ctx context.Context, name string) ([]byte, error) {
	return d.read("get", name)
}

func (d *Dir) read(op, name string) ([]byte, error) {
	if err := storage.CheckName(name); err != nil {
		return nil, err
	}
	if err := d.fail(op, name); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	data, ok := d.files[name]
	if !ok {
		return nil, notExist(name)
	}
	return bytes.Clone(data), nil
}

// Create starts a file, invisible until Commit.
func (d *Dir) Create(ctx context.Context, name string) (storage.Object, error) {
	if err := storage.CheckName(name); err != nil {
		return nil, err
	}
	if err := d.fail("create", name); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.files[name]; ok {
		return nil, fmt.Errorf("storagetest: create %s: %w", name, fs.ErrExist)
	}
	return &object{d: d, name: name}, nil
}

// Put writes a file whole.
func (d *Dir) Put(ctx context.Context, name string, data []byte) error {
	return d.put(name, data, false)
}

// PutIfAbsent writes a file whole unless it exists.
func (d *Dir) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	return d.put(name, data, true)
}

func (d *Dir) put(name string, data []byte, exclusive bool) error {
	if err := storage.CheckName(name); err != nil {
		return err
	}
	if err := d.fail("put", name); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.files[name]; ok && exclusive {
		return fmt.Errorf("storagetest: create %s: %w", name, fs.ErrExist)
	}
	d.files[name] = bytes.Clone(data)
	return nil
}

// List returns the names starting with prefix, sorted.
func (d *Dir) List(ctx context.Context, prefix string) ([]string, error) {
	if err := d.fail("list", prefix); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var names []string
	for name := range d.files {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Remove deletes a file; a missing one is not an error.
func (d *Dir) Remove(ctx context.Context, name string) error {
	if err := storage.CheckName(name); err != nil {
		return err
	}
	if err := d.fail("remove", name); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.files, name)
	return nil
}

// URI is the Dir's base and the name.
func (d *Dir) URI(name string) string { return d.base + name }

// object is a file being written to a Dir.
type object struct {
	d    *Dir
	name string
	buf  bytes.Buffer
	done bool
}

func (o *object) Write(p []byte) (int, error) {
	if o.done {
		return 0, fs.ErrClosed
	}
	if err := o.d.fail("write", o.name); err != nil {
		return 0, err
	}
	return o.buf.Write(p)
}

func (o *object) Commit() error {
	if o.done {
		return fmt.Errorf("storagetest: commit %s: %w", o.name, fs.ErrClosed)
	}
	o.done = true
	if err := o.d.fail("commit", o.name); err != nil {
		return err
	}
	o.d.mu.Lock()
	defer o.d.mu.Unlock()
	if _, ok := o.d.files[o.name]; ok {
		return fmt.Errorf("storagetest: commit %s: %w", o.name, fs.ErrExist)
	}
	o.d.files[o.name] = bytes.Clone(o.buf.Bytes())
	return nil
}

func (o *object) Abort() error {
	o.done = true
	return nil
}
