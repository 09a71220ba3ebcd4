package reader

import (
	"context"
	"fmt"
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
