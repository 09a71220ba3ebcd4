package storagetest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

var (
	_ storage.Appender = (*Dir)(nil)
	_ storage.Linker   = (*Dir)(nil)
)

// GetVersion reads a file whole with its version, a digest of its bytes.
func (d *Dir) GetVersion(ctx context.Context, name string) ([]byte, storage.Version, error) {
	data, err := d.read("get", name)
	if err != nil {
		return nil, "", err
	}
	return data, storage.DigestVersion(data), nil
}

// ReplaceIf replaces a file if it still has version v.
func (d *Dir) ReplaceIf(ctx context.Context, name string, data []byte, v storage.Version) (storage.Version, error) {
	if err := storage.CheckName(name); err != nil {
		return "", err
	}
	if err := d.fail("replace", name); err != nil {
		return "", err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	current, ok := d.files[name]
	if !ok || storage.DigestVersion(current) != v {
		return "", fmt.Errorf("storagetest: replace %s: %w", name, storage.ErrChanged)
	}
	d.files[name] = append([]byte(nil), data...)
	return storage.DigestVersion(data), nil
}

// CreateAppend creates a file, visible at once, that grows by appending.
func (d *Dir) CreateAppend(ctx context.Context, name string) (storage.AppendFile, error) {
	if err := storage.CheckName(name); err != nil {
		return nil, err
	}
	if err := d.fail("append", name); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.files[name]; ok {
		return nil, fmt.Errorf("storagetest: create %s: %w", name, fs.ErrExist)
	}
	d.files[name] = nil
	return &appendFile{d: d, name: name}, nil
}

// Link gives old's bytes the name new as well. Fail sees it as "link" of
// new, the name it makes.
func (d *Dir) Link(ctx context.Context, old, new string) error {
	for _, name := range []string{old, new} {
		if err := storage.CheckName(name); err != nil {
			return err
		}
	}
	if err := d.fail("link", new); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	data, ok := d.files[old]
	if !ok {
		return notExist(old)
	}
	if _, ok := d.files[new]; ok {
		return fmt.Errorf("storagetest: link %s: %w", new, fs.ErrExist)
	}
	d.files[new] = bytes.Clone(data)
	return nil
}

// appendFile is a file of a Dir being appended to. A write that fails
// after Fail lets part of it through is not simulated: a failed write
// writes nothing.
type appendFile struct {
	d      *Dir
	name   string
	closed bool
}

func (a *appendFile) Write(p []byte) (int, error) {
	if a.closed {
		return 0, fs.ErrClosed
	}
	if err := a.d.fail("write", a.name); err != nil {
		return 0, err
	}
	a.d.mu.Lock()
	defer a.d.mu.Unlock()
	a.d.files[a.name] = append(a.d.files[a.name], p...)
	return len(p), nil
}

func (a *appendFile) Sync() error {
	if a.closed {
		return fs.ErrClosed
	}
	return a.d.fail("sync", a.name)
}

func (a *appendFile) Truncate(size int64) error {
	if a.closed {
		return fs.ErrClosed
	}
	if err := a.d.fail("truncate", a.name); err != nil {
		return err
	}
	a.d.mu.Lock()
	defer a.d.mu.Unlock()
	if data := a.d.files[a.name]; int64(len(data)) > size {
		a.d.files[a.name] = data[:size]
	}
	return nil
}

func (a *appendFile) Close() error {
	a.closed = true
	return nil
}
