package reader

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Format is the encoding of an input file.
type Format string

// The input formats.
const (
	// JSONL is one JSON object per line, plain or gzip-compressed.
	JSONL Format = "jsonl"
	// Parquet is an Apache Parquet file.
	Parquet Format = "parquet"
)

// Source yields records one at a time; Next returns io.EOF after the last.
type Source interface {
	Next(ctx context.Context) (Record, error)
}

var (
	_ Source = (*JSONLReader)(nil)
	_ Source = (*ParquetReader)(nil)
	_ Source = (*Files)(nil)
)

// FormatOf tells the format of a file from its name: .jsonl, .ndjson and
// their .gz forms are JSONL; .parquet is Parquet. Case is ignored.
func FormatOf(path string) (Format, error) {
	name := strings.ToLower(path)
	switch {
	case strings.HasSuffix(name, ".jsonl"), strings.HasSuffix(name, ".ndjson"),
		strings.HasSuffix(name, ".jsonl.gz"), strings.HasSuffix(name, ".ndjson.gz"):
		return JSONL, nil
	case strings.HasSuffix(name, ".parquet"):
		return Parquet, nil
	}
	return "", fmt.Errorf("reader: %s: unknown input format: want a name ending in .jsonl, .ndjson, .jsonl.gz, .ndjson.gz or .parquet", path)
}

// isGzip reports whether the file at path is gzip-compressed, by its name.
func isGzip(path string) bool { return strings.HasSuffix(strings.ToLower(path), ".gz") }

// Expand turns local paths and glob patterns (filepath.Glob syntax) into the
// list of files to read. The matches of each pattern are sorted, patterns
// keep their order, and a file named twice is kept once, at its first place.
// A path that does not exist, or a pattern that matches no file, is an
// error wrapping os.ErrNotExist. Directories matched by a pattern are
// skipped; a directory named directly is an error.
func Expand(patterns []string) ([]string, error) {
	var out []string
	seen := make(map[string]bool)
	for _, p := range patterns {
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("reader: input pattern %q: %w", p, err)
		}
		literal := !hasMeta(p)
		if literal && len(matches) == 0 {
			_, err := os.Stat(p) // say why: not found, permission, ...
			if err == nil {
				err = os.ErrNotExist
			}
			return nil, fmt.Errorf("reader: input %q: %w", p, err)
		}
		slices.Sort(matches)
		found := 0
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("reader: input %q: %w", m, err)
			}
			if fi.IsDir() {
				if literal {
					return nil, fmt.Errorf("reader: input %q is a directory; name its files or use a pattern such as %q", p, filepath.Join(p, "*.jsonl"))
				}
				continue
			}
			found++
			if key := filepath.Clean(m); !seen[key] {
				seen[key] = true
				out = append(out, m)
			}
		}
		if found == 0 {
			return nil, fmt.Errorf("reader: input pattern %q matches no files: %w", p, os.ErrNotExist)
		}
	}
	return out, nil
}

// hasMeta reports whether path contains glob metacharacters.
func hasMeta(path string) bool { return strings.ContainsAny(path, `*?[\`) }
