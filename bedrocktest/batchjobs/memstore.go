package batchjobs

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
)

// MemoryStore is an ObjectStore in memory, for unit tests that need no S3 server. Its buckets
// are those named to NewMemoryStore; as with S3, a missing object or bucket is an error that
// wraps fs.ErrNotExist. It is safe for concurrent use, and keeps copies: a caller may change
// the bytes it put or got.
type MemoryStore struct {
	mu      sync.Mutex
	buckets map[string]map[string][]byte // bucket → key → data
}

var _ ObjectStore = (*MemoryStore)(nil)

// errNoBucket is S3's NoSuchBucket: not there, as a missing object is.
var errNoBucket = fmt.Errorf("the bucket does not exist (NoSuchBucket): %w", fs.ErrNotExist)

// NewMemoryStore returns a store with the named buckets, empty.
func NewMemoryStore(buckets ...string) *MemoryStore {
	m := &MemoryStore{buckets: map[string]map[string][]byte{}}
	for _, b := range buckets {
		m.buckets[b] = map[string][]byte{}
	}
	return m
}

// Get returns a copy of the object's bytes.
func (m *MemoryStore) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[bucket]
	if !ok {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, errNoBucket)
	}
	data, ok := b[key]
	if !ok {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, fs.ErrNotExist)
	}
	return slices.Clone(data), nil
}

// Put stores a copy of data.
func (m *MemoryStore) Put(ctx context.Context, bucket, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[bucket]
	if !ok {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, errNoBucket)
	}
	b[key] = slices.Clone(data)
	return nil
}

// List returns the keys under prefix, at any depth, sorted.
func (m *MemoryStore) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[bucket]
	if !ok {
		return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, errNoBucket)
	}
	var keys []string
	for k := range b {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}
