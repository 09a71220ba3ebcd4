package s3store

import (
	"os"
	"slices"
	"testing"
)

func TestExpand(t *testing.T) {
	e := newEnv(t, Options{})
	for _, key := range []string{
		"in/a.jsonl", "in/b.ndjson", "in/c.jsonl.gz", "in/d.NDJSON.GZ", "in/e.parquet",
		"in/notes.txt", "in/_manifest.json", "in/_tmp.jsonl", "in/.hidden.jsonl", "in/sub/f.jsonl",
		"in2/x.jsonl",
		"evals/2026-01/part-1.jsonl", "evals/2026-01/part-2.jsonl", "evals/2026-01/other.jsonl",
		"evals/2026-02/part-1.jsonl", "evals/2026-02/deep/part-9.jsonl", "evals/2025-12/part-1.jsonl",
		"docs/readme.md",
	} {
		e.put(t, key, []byte("{}\n"))
	}
	tests := []struct {
		name    string
		pattern string
		want    []string // keys
		err     []string // substrings of the error; URI of the pattern implied
		target  error
	}{
		{name: "single key", pattern: "in/a.jsonl", want: []string{"in/a.jsonl"}},
		{name: "single key any extension", pattern: "in/notes.txt", want: []string{"in/notes.txt"}},
		{name: "prefix", pattern: "in/", want: []string{
			"in/a.jsonl", "in/b.ndjson", "in/c.jsonl.gz", "in/d.NDJSON.GZ", "in/e.parquet", "in/sub/f.jsonl",
		}},
		{name: "glob across folders", pattern: "evals/2026-*/part-*.jsonl", want: []string{
			"evals/2026-01/part-1.jsonl", "evals/2026-01/part-2.jsonl", "evals/2026-02/part-1.jsonl",
		}},
		{name: "glob with class", pattern: "evals/202[5]-*/part-?.jsonl", want: []string{"evals/2025-12/part-1.jsonl"}},
		{name: "glob from bucket root", pattern: "*/x.jsonl", want: []string{"in2/x.jsonl"}},
		{name: "glob of folders", pattern: "evals/2026-*/", want: []string{
			"evals/2026-01/other.jsonl", "evals/2026-01/part-1.jsonl", "evals/2026-01/part-2.jsonl",
			"evals/2026-02/deep/part-9.jsonl", "evals/2026-02/part-1.jsonl",
		}},
		{name: "glob of folders no match", pattern: "evals/2027-*/", err: []string{"matches no objects"}, target: os.ErrNotExist},
		{name: "glob no match", pattern: "evals/2027-*/part-*.jsonl", err: []string{"matches no objects"}, target: os.ErrNotExist},
		{name: "prefix without inputs", pattern: "docs/", err: []string{"no input objects under", "docs/"}, target: os.ErrNotExist},
		{name: "prefix missing", pattern: "nothing/", err: []string{"no input objects under"}, target: os.ErrNotExist},
		{name: "missing key", pattern: "in/zzz.jsonl", err: []string{"HeadObject", "no such key"}, target: os.ErrNotExist},
		{name: "folder without slash", pattern: "in", err: []string{"no such key", "end the URI with a slash", e.uri("in/")}, target: os.ErrNotExist},
		{name: "bad glob", pattern: "in/[a.jsonl", err: []string{"syntax error in pattern"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.store.Expand(ctx(t), e.uri(tt.pattern))
			if tt.err != nil {
				checkErr(t, err, tt.target, append(tt.err, "s3://"+e.bucket+"/")...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, k := range tt.want {
				want = append(want, e.uri(k))
			}
			if !slices.Equal(got, want) {
				t.Errorf("Expand(%q)\n got %q\nwant %q", tt.pattern, got, want)
			}
		})
	}
}

func TestExpandMissingBucket(t *testing.T) {
	e := newEnv(t, Options{})
	missing := e.bucket + "-missing"
	for _, pattern := range []string{"k.jsonl", "dir/", "dir/*.jsonl", ""} {
		t.Run(pattern, func(t *testing.T) {
			_, err := e.store.Expand(ctx(t), uri(missing, pattern))
			checkErr(t, err, os.ErrNotExist, `bucket "`+missing+`" does not exist`, "s3://"+missing+"/")
		})
	}
}

func TestExpandBadURI(t *testing.T) {
	e := newEnv(t, Options{})
	_, err := e.store.Expand(ctx(t), "s3:///x.jsonl")
	checkErr(t, err, nil, "no bucket name")
}
