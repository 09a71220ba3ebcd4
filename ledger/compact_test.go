package ledger

import (
	"reflect"
	"testing"
)

func TestSuperseded(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  []string
	}{
		{"nothing compacted", []string{"part-a-00000.jsonl", "part-b-00000.parquet"}, nil},
		{"compaction finished", []string{"part-a-00000.r-00000.jsonl"}, nil},
		{"killed before the original was removed", []string{"part-a-00000.jsonl", "part-a-00000.r-00000.jsonl", "part-b-00001.parquet", "part-b-00001.r-00000.parquet"},
			[]string{"part-a-00000.jsonl", "part-b-00001.parquet"}},
		{"compacted twice", []string{"part-a-00000.r-00000.jsonl", "part-a-00000.r-00000.r-00000.jsonl"}, []string{"part-a-00000.r-00000.jsonl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Superseded(tt.names); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Superseded(%q) = %q, want %q", tt.names, got, tt.want)
			}
		})
	}
}
