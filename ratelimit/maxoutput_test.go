package ratelimit

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/modelid"
)

// shippedRow is what every row of a shipped model table must say: what it
// matches, where its fact comes from and when that was checked.
type shippedRow struct {
	pattern, note, source, asOf string
}

// shippedRowProblems checks every row of a first-match table: a note, a
// source, an as_of date that parses and is not in the future, a lower-case
// pattern, and no row hidden behind an earlier one (the pattern's own id,
// its stars removed, must first match the row itself). It says what is
// wrong, a line a problem.
func shippedRowProblems(rows []shippedRow) []string {
	if len(rows) == 0 {
		return []string{"the shipped table is empty"}
	}
	var problems []string
	for i, r := range rows {
		if r.note == "" || r.source == "" {
			problems = append(problems, fmt.Sprintf("%s: note %q, source %q: want both", r.pattern, r.note, r.source))
		}
		if at, err := time.Parse(time.DateOnly, r.asOf); err != nil || at.After(time.Now()) {
			problems = append(problems, fmt.Sprintf("%s: as_of %q: want a past date, YYYY-MM-DD", r.pattern, r.asOf))
		}
		if r.pattern != strings.ToLower(r.pattern) || !strings.Contains(r.pattern, ".") {
			problems = append(problems, fmt.Sprintf("%s: want a lower-case PROVIDER.MODEL pattern", r.pattern))
		}
		example := strings.ReplaceAll(r.pattern, "*", "")
		for j := range i {
			if modelid.Match(rows[j].pattern, example) {
				problems = append(problems, fmt.Sprintf("%s (row %d) is hidden behind %s (row %d), which matches %q first", r.pattern, i, rows[j].pattern, j, example))
				break
			}
		}
	}
	return problems
}

func TestShippedMaxOutput(t *testing.T) {
	var rows []shippedRow
	for _, r := range maxOutputTable() {
		if r.MaxOutput < 1000 || r.MaxOutput > 1_000_000 {
			t.Errorf("%s: max_output %d looks wrong", r.Pattern, r.MaxOutput)
		}
		rows = append(rows, shippedRow{r.Pattern, r.Note, r.Source, r.AsOf})
	}
	for _, p := range shippedRowProblems(rows) {
		t.Error(p)
	}
}

func TestShippedBurndown(t *testing.T) {
	var rows []shippedRow
	for _, r := range DefaultBurndown().Rules() {
		if r.Factor < 1 || r.Factor > 20 {
			t.Errorf("%s: factor %v looks wrong", r.Pattern, r.Factor)
		}
		rows = append(rows, shippedRow{r.Pattern, r.Note, r.Source, r.AsOf})
	}
	for _, p := range shippedRowProblems(rows) {
		t.Error(p)
	}
}

// TestShippedRowProblems: the table check catches what it is for.
func TestShippedRowProblems(t *testing.T) {
	tests := []struct {
		name string
		rows []shippedRow
	}{
		{"empty table", nil},
		{"no source", []shippedRow{{"a.b*", "note", "", "2026-12-01"}}},
		{"date not a date", []shippedRow{{"a.b*", "note", "page", "2026-13-01"}}},
		{"date in the future", []shippedRow{{"a.b*", "note", "page", "2999-01-01"}}},
		{"general row first", []shippedRow{{"a.b*", "note", "page", "2026-12-01"}, {"a.b-2*", "note", "page", "2026-12-01"}}},
		{"upper case", []shippedRow{{"A.b*", "note", "page", "2026-12-01"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if problems := shippedRowProblems(tt.rows); len(problems) != 1 {
				t.Errorf("%+v: problems %q, want one", tt.rows, problems)
			}
		})
	}
}
