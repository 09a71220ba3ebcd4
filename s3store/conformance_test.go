package s3store

import (
	"testing"

	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
)

// TestDirKeepsTheStorageContract runs the contract every storage backend
// keeps against a prefix of the real S3 server.
func TestDirKeepsTheStorageContract(t *testing.T) {
	storagetest.TestDir(t, func(t *testing.T) storage.Dir {
		e := newEnv(t, Options{})
		d, err := e.store.Dir(ctx(t), e.uri("contract/"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}
