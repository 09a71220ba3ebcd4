package writer

import (
	"bytes"
	"context"
	"testing"
)

// TestWriteLineCopiesWhatWriteWrites: lines a LineEncoder made, written
// with WriteLine, make the very file Write makes of the rows, in either
// style, numbered from FirstSeq.
func TestWriteLineCopiesWhatWriteWrites(t *testing.T) {
	ctx := context.Background()
	for _, style := range []string{StyleRows, StyleBedrockBatch} {
		t.Run(style, func(t *testing.T) {
			rows := sampleRows()
			byRow, byLine := newMemDest(), newMemDest()
			direct, err := New(byRow, Options{Format: JSONL, Style: style, NamePrefix: "part-x", FirstSeq: 3})
			if err != nil {
				t.Fatal(err)
			}
			copied, err := New(byLine, Options{Format: JSONL, Style: style, NamePrefix: "part-x", FirstSeq: 3})
			if err != nil {
				t.Fatal(err)
			}
			enc := NewLineEncoder(style)
			var line []byte
			for i := range rows {
				if err := direct.Write(ctx, &rows[i]); err != nil {
					t.Fatal(err)
				}
				if line, err = enc.Append(line[:0], &rows[i]); err != nil {
					t.Fatal(err)
				}
				if err := copied.WriteLine(ctx, line); err != nil {
					t.Fatal(err)
				}
			}
			if err := direct.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if err := copied.Close(ctx); err != nil {
				t.Fatal(err)
			}
			const name = "part-x-00003.jsonl"
			want, got := byRow.files[name], byLine.files[name]
			if len(want) == 0 || !bytes.Equal(got, want) {
				t.Errorf("%s by WriteLine:\n%s\nby Write:\n%s", name, got, want)
			}
			if files := copied.Files(); len(files) != 1 || files[0] != name {
				t.Errorf("Files = %q, want [%s]", files, name)
			}
		})
	}
	parquet, err := New(newMemDest(), Options{Format: Parquet, NamePrefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteLine(ctx, []byte("{}\n")); err != errNotJSONL {
		t.Errorf("WriteLine to Parquet: %v, want %v", err, errNotJSONL)
	}
}
