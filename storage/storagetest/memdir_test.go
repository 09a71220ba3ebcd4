package storagetest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
)

func TestMemDir(t *testing.T) {
	storagetest.TestDir(t, func(t *testing.T) storage.Dir { return storagetest.NewDir() })
}

func TestMemDirFailsChosenOperations(t *testing.T) {
	d := storagetest.NewDir()
	injected := errors.New("disk on fire")
	d.Fail = func(op, name string) error {
		if op == "commit" && name == "b" {
			return injected
		}
		return nil
	}
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		obj, err := d.Create(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		err = obj.Commit()
		if want := name == "b"; errors.Is(err, injected) != want {
			t.Errorf("Commit(%s): %v", name, err)
		}
	}
	if names, _ := d.List(ctx, ""); len(names) != 1 || names[0] != "a" {
		t.Errorf("List = %q, want only a (b's commit failed)", names)
	}
}
