package main

import (
	"context"
	"io"
	"path"
	"strings"

	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// stagingStore is the batch-inference staging prefix as a
// batchinfer.Store: names may hold "/", each folder an s3store.Dir.
type stagingStore struct {
	base    string // s3://bucket/prefix/
	storage *storage
}

var (
	_ batchinfer.Store  = (*stagingStore)(nil)
	_ batchinfer.Opener = (*stagingStore)(nil)
)

func newStagingStore(s *storage, base string) *stagingStore {
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return &stagingStore{base: base, storage: s}
}

// dir is the folder of name and the name's last element.
func (s *stagingStore) dir(ctx context.Context, name string) (interface {
	Create(ctx context.Context, name string) (writer.Object, error)
	Get(ctx context.Context, name string) ([]byte, error)
}, string, error) {
	folder, file := path.Split(name)
	d, err := s.storage.s3.Dir(ctx, s.base+folder)
	return d, file, err
}

func (s *stagingStore) Create(ctx context.Context, name string) (writer.Object, error) {
	d, file, err := s.dir(ctx, name)
	if err != nil {
		return nil, err
	}
	return d.Create(ctx, file)
}

func (s *stagingStore) Get(ctx context.Context, name string) ([]byte, error) {
	d, file, err := s.dir(ctx, name)
	if err != nil {
		return nil, err
	}
	return d.Get(ctx, file)
}

// List lists nothing: every plan stages under a run key of its own (a
// random part), so no part name of it can be taken already.
func (s *stagingStore) List(ctx context.Context) ([]string, error) { return nil, nil }

func (s *stagingStore) URI(name string) string { return s.base + name }

func (s *stagingStore) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	return s.storage.Open(ctx, s.base+name)
}
