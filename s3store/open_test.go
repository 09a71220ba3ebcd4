package s3store

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/reader"
)

func TestOpen(t *testing.T) {
	e := newEnv(t, Options{})
	jsonl := []byte("{\"id\":1,\"prompt\":\"a\"}\n{\"id\":2,\"prompt\":\"b\"}\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(jsonl)
	zw.Close()
	big := pattern(3<<20 + 5)
	e.put(t, "in/a.jsonl", jsonl)
	e.put(t, "in/a.jsonl.gz", gz.Bytes())
	e.put(t, "in/big.bin", big)
	e.put(t, "in/empty.jsonl", nil)

	tests := []struct {
		name, key string
		want      []byte
	}{
		{"jsonl", "in/a.jsonl", jsonl},
		{"gzip", "in/a.jsonl.gz", gz.Bytes()},
		{"big", "in/big.bin", big},
		{"empty", "in/empty.jsonl", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := e.store.Open(ctx(t), e.uri(tt.key))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("read %d bytes, want %d equal ones", len(got), len(tt.want))
			}
		})
	}
}

func TestOpenMissing(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		name, uri string
		want      []string
	}{
		{"key", e.uri("nope.jsonl"), []string{"GetObject", e.uri("nope.jsonl"), "no such key"}},
		{"bucket", uri(e.bucket+"-x", "a.jsonl"), []string{"GetObject", uri(e.bucket+"-x", "a.jsonl"), "does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.store.Open(ctx(t), tt.uri)
			checkErr(t, err, os.ErrNotExist, tt.want...)
			_, _, _, err = e.store.OpenAt(ctx(t), tt.uri)
			checkErr(t, err, os.ErrNotExist, tt.uri, "HeadObject")
		})
	}
}

// TestFilesOverS3 reads JSONL, gzip JSONL and Parquet inputs from S3 through
// reader.Files, as a run does.
func TestFilesOverS3(t *testing.T) {
	e := newEnv(t, Options{})
	jsonl := []byte("{\"id\":\"j1\",\"prompt\":\"a\"}\n{\"id\":\"j2\",\"prompt\":\"b\"}\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(jsonl)
	zw.Close()
	pq, err := os.ReadFile("../reader/testdata/duckdb_snappy_int.parquet")
	if err != nil {
		t.Fatal(err)
	}
	e.put(t, "in/1.jsonl", jsonl)
	e.put(t, "in/2.jsonl.gz", gz.Bytes())
	e.put(t, "in/3.parquet", pq)
	uris, err := e.store.Expand(ctx(t), e.uri("in/"))
	if err != nil {
		t.Fatal(err)
	}
	var inputs []reader.Input
	for _, u := range uris {
		inputs = append(inputs, reader.Input{Path: u})
	}
	files := reader.OpenFilesWith(e.store, inputs)
	defer files.Close()
	n := 0
	for {
		rec, err := files.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n <= 4 && rec.ID != []string{"j1", "j2", "j1", "j2"}[n-1] {
			t.Errorf("record %d has id %q", n, rec.ID)
		}
	}
	local := readLocalParquet(t, "../reader/testdata/duckdb_snappy_int.parquet", "x")
	if want := 4 + len(local); n != want {
		t.Errorf("read %d records; want %d", n, want)
	}
}
