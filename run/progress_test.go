package run

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

func TestStatusLineAndFields(t *testing.T) {
	st := status{Done: 450, Total: 1000, PerSecond: 5, ETA: 110 * time.Second, CostUSD: 1.5, CostKnown: true,
		Throttled: 3, Retried: 7, BoundBy: "tokens per minute", OK: 440, Errors: 10}
	line := st.line()
	for _, want := range []string{"45.0% 450/1000", "5.0/s", "ETA 1m50s", "$1.5000", "errors 10", "throttled 3  retried 7", "bound by tokens per minute"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q does not hold %q", line, want)
		}
	}
	if strings.Count(line, "=") != 11 {
		t.Errorf("the bar of 45%% has %d of 24 marks: %q", strings.Count(line, "="), line)
	}
	fields := fmtAttrs(st.attrs())
	for _, want := range []string{"total=1000", "percent=45.0", "eta=1m50s", "cost_usd=1.5000", "bound_by=tokens per minute"} {
		if !strings.Contains(fields, want) {
			t.Errorf("log fields %q do not hold %q", fields, want)
		}
	}
	unknown := status{Done: 12, PerSecond: 1}
	if line := unknown.line(); !strings.Contains(line, "total not known yet") || strings.Contains(line, "ETA") || strings.Contains(line, "%") {
		t.Errorf("a status with no total shows %q", line)
	}
	if fields := fmtAttrs(unknown.attrs()); !strings.Contains(fields, "total=not known yet") || strings.Contains(fields, "percent") ||
		strings.Contains(fields, "eta") || strings.Contains(fields, "cost") || strings.Contains(fields, "batch_jobs") {
		t.Errorf("a status with no total logs %q (empty fields must be left out)", fields)
	}
}

func fmtAttrs(attrs []any) string {
	var parts []string
	for _, a := range attrs {
		parts = append(parts, a.(slog.Attr).String())
	}
	return strings.Join(parts, " ")
}

func TestCountRecords(t *testing.T) {
	dir := t.TempDir()
	local := storage.NewLocalDir(dir)
	ctx := context.Background()
	// A byte-order mark, CRLF endings, blank lines, a long line and no
	// final newline: 4 records, as the reader sees them.
	body := "\ufeff{\"id\":1}\r\n\r\n  \n{\"id\":2,\"prompt\":\"" + strings.Repeat("x", 300<<10) + "\"}\n{\"id\":3}\n{\"id\":4}"
	if err := local.Put(ctx, "a.jsonl", []byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := local.Put(ctx, "b.jsonl", []byte("{\"id\":5}\n")); err != nil {
		t.Fatal(err)
	}
	inputs := []reader.Input{{Path: local.URI("a.jsonl"), Format: reader.JSONL}, {Path: local.URI("b.jsonl"), Format: reader.JSONL}}
	if n := countRecords(ctx, storage.NewRouter(nil), inputs); n != 5 {
		t.Errorf("counted %d records, want 5", n)
	}
	if n := countRecords(ctx, storage.NewRouter(nil), append(inputs, reader.Input{Path: local.URI("missing.jsonl")})); n != -1 {
		t.Errorf("counted %d with a missing input, want -1 (not known)", n)
	}
	files := reader.OpenFiles(inputs)
	defer files.Close()
	read := 0
	for {
		if _, err := files.Next(ctx); err != nil {
			break
		}
		read++
	}
	if read != 5 {
		t.Errorf("the reader read %d records where the count said 5", read)
	}
}
