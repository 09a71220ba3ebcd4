package batchjobs_test

import (
	"errors"
	"io/fs"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
)

// Both stores keep the ObjectStore contract: what was put is got back, overwritten whole, and
// listed by prefix at any depth in key order; a missing object or bucket wraps fs.ErrNotExist.
func TestObjectStores(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			store, bucket := newStore(t, kind)
			ctx := testCtx(t)
			put := func(key, data string) {
				t.Helper()
				if err := store.Put(ctx, bucket, key, []byte(data)); err != nil {
					t.Fatalf("Put %s: %v", key, err)
				}
			}
			get := func(key string) string {
				t.Helper()
				data, err := store.Get(ctx, bucket, key)
				if err != nil {
					t.Fatalf("Get %s: %v", key, err)
				}
				return string(data)
			}

			if _, err := store.Get(ctx, bucket, "in/none.jsonl"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Get of a missing key: %v, want fs.ErrNotExist", err)
			}
			if keys, err := store.List(ctx, bucket, ""); err != nil || len(keys) != 0 {
				t.Errorf("List of an empty bucket = %q, %v; want nothing", keys, err)
			}
			for _, key := range []string{"in/b.jsonl", "in/a.jsonl", "in/sub/c.jsonl", "input.jsonl", "out/x"} {
				put(key, "data of "+key)
			}
			put("in/a.jsonl", "second") // overwrites
			put("in/empty.jsonl", "")
			if got := get("in/a.jsonl"); got != "second" {
				t.Errorf("Get after an overwrite = %q", got)
			}
			if got := get("in/empty.jsonl"); got != "" {
				t.Errorf("Get of an empty object = %q", got)
			}
			if got := get("in/sub/c.jsonl"); got != "data of in/sub/c.jsonl" {
				t.Errorf("Get = %q", got)
			}
			for _, tt := range []struct {
				prefix string
				want   []string
			}{
				{"in/", []string{"in/a.jsonl", "in/b.jsonl", "in/empty.jsonl", "in/sub/c.jsonl"}},
				{"in", []string{"in/a.jsonl", "in/b.jsonl", "in/empty.jsonl", "in/sub/c.jsonl", "input.jsonl"}},
				{"in/sub/", []string{"in/sub/c.jsonl"}},
				{"nothing/", nil},
			} {
				if keys, err := store.List(ctx, bucket, tt.prefix); err != nil || !slices.Equal(keys, tt.want) {
					t.Errorf("List %q = %q, %v; want %q", tt.prefix, keys, err, tt.want)
				}
			}

			missing := bucket + "-missing"
			if _, err := store.Get(ctx, missing, "k"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Get from a missing bucket: %v, want fs.ErrNotExist", err)
			}
			if _, err := store.List(ctx, missing, ""); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("List of a missing bucket: %v, want fs.ErrNotExist", err)
			}
			if err := store.Put(ctx, missing, "k", []byte("x")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Put into a missing bucket: %v, want fs.ErrNotExist", err)
			}
		})
	}
}

// A MemoryStore keeps its own copies, and is safe for concurrent use (run with -race).
func TestMemoryStore(t *testing.T) {
	store := batchjobs.NewMemoryStore("b")
	ctx := testCtx(t)
	data := []byte("original")
	if err := store.Put(ctx, "b", "k", data); err != nil {
		t.Fatal(err)
	}
	data[0] = 'X'
	got, _ := store.Get(ctx, "b", "k")
	got[1] = 'Y'
	if again, _ := store.Get(ctx, "b", "k"); string(again) != "original" {
		t.Errorf("stored %q after the caller changed its slices, want original", again)
	}

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				key := "w" + strconv.Itoa(w) + "/" + strconv.Itoa(i)
				if err := store.Put(ctx, "b", key, []byte(key)); err != nil {
					t.Error(err)
					return
				}
				if d, err := store.Get(ctx, "b", key); err != nil || string(d) != key {
					t.Errorf("Get %s = %q, %v", key, d, err)
					return
				}
				if _, err := store.List(ctx, "b", "w"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if keys, err := store.List(ctx, "b", "w"); err != nil || len(keys) != 8*50 {
		t.Errorf("%d keys after the writers, %v; want %d", len(keys), err, 8*50)
	}
}
