package reader

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// readAll reads every record of src.
func readAll(t *testing.T, src Source) []Record {
	t.Helper()
	var recs []Record
	for {
		rec, err := src.Next(context.Background())
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatalf("Next after %d records: %v", len(recs), err)
		}
		recs = append(recs, rec)
	}
}

// readJSONL reads every record of text read as the file name.
func readJSONL(t *testing.T, name, text string) []Record {
	t.Helper()
	return readAll(t, NewJSONL(strings.NewReader(text), name))
}

// renderRecord is a Record in a stable, readable JSON form for comparisons
// and golden files.
func renderRecord(rec Record) string {
	type msg struct {
		Role string   `json:"role"`
		Text []string `json:"text"`
	}
	var v struct {
		ID       string `json:"id"`
		Origin   string `json:"origin"`
		Messages []msg  `json:"messages,omitempty"`
		System   string `json:"system,omitempty"`
		Metadata string `json:"metadata,omitempty"` // verbatim
		Field    string `json:"err_field,omitempty"`
		Err      string `json:"err,omitempty"`
	}
	v.ID, v.Origin, v.System, v.Metadata = rec.ID, rec.Origin.String(), rec.System, string(rec.Metadata)
	for _, m := range rec.Messages {
		mm := msg{Role: m.Role}
		for _, c := range m.Content {
			mm.Text = append(mm.Text, c.Text)
		}
		v.Messages = append(v.Messages, mm)
	}
	if rec.Err != nil {
		var ie *InvalidRecordError
		if !errors.As(rec.Err, &ie) || !errors.Is(rec.Err, ErrInvalidRecord) {
			v.Err = "NOT AN InvalidRecordError: " + rec.Err.Error()
		} else {
			v.Field, v.Err = ie.Field, ie.Reason
			if ie.Origin != rec.Origin {
				v.Err += " [ORIGIN MISMATCH " + ie.Origin.String() + "]"
			}
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "MARSHAL ERROR: " + err.Error()
	}
	return string(b)
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update and review the diff)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
