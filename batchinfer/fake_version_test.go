package batchinfer

import (
	"context"
	"fmt"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// GetVersion reads a file with its version, a digest of its bytes.
func (s *memStore) GetVersion(ctx context.Context, name string) ([]byte, storage.Version, error) {
	data, err := s.Get(ctx, name)
	if err != nil {
		return nil, "", err
	}
	return data, storage.DigestVersion(data), nil
}

// ReplaceIf replaces a file that still has version v.
func (s *memStore) ReplaceIf(ctx context.Context, name string, data []byte, v storage.Version) (storage.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if current, ok := s.files[name]; !ok || storage.DigestVersion(current) != v {
		return "", fmt.Errorf("replace %s: %w", name, storage.ErrChanged)
	}
	s.files[name] = append([]byte(nil), data...)
	return storage.DigestVersion(data), nil
}
