package storage

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExpandLocal(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"b.jsonl": "", "a.jsonl": "", "c.parquet": "", "sub/d.jsonl": "", "sub/e.jsonl": "",
	})
	if err := os.Mkdir(filepath.Join(dir, "dir.jsonl"), 0o755); err != nil {
		t.Fatal(err)
	}
	j := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
		return out
	}
	tests := []struct {
		name     string
		patterns []string
		want     []string
		wantErr  string // substring; "" = no error
		notExist bool
	}{
		{name: "literal paths keep their order", patterns: j("c.parquet", "a.jsonl"), want: j("c.parquet", "a.jsonl")},
		{name: "a glob is sorted and skips directories", patterns: j("*.jsonl"), want: j("a.jsonl", "b.jsonl")},
		{name: "patterns keep their order", patterns: j("sub/*", "*.parquet"), want: j("sub/d.jsonl", "sub/e.jsonl", "c.parquet")},
		{name: "duplicates are kept once, first place", patterns: j("b.jsonl", "*.jsonl", "sub/../a.jsonl"), want: j("b.jsonl", "a.jsonl")},
		{name: "missing file", patterns: j("a.jsonl", "nope.jsonl"), wantErr: "nope.jsonl", notExist: true},
		{name: "pattern matching nothing", patterns: j("*.csv"), wantErr: "*.csv", notExist: true},
		{name: "pattern matching only directories", patterns: j("dir.*"), wantErr: "dir.*", notExist: true},
		{name: "directory named directly", patterns: j("sub"), wantErr: "is a directory"},
		{name: "bad pattern", patterns: j("[a"), wantErr: "syntax error"},
		{name: "no patterns", patterns: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExpandLocal(tt.patterns)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				if tt.notExist != errors.Is(err, os.ErrNotExist) {
					t.Errorf("errors.Is(%v, os.ErrNotExist) = %v", err, !tt.notExist)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
