package batchinfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const (
	modelA = "anthropic.claude-3-haiku-20240307-v1:0"
	modelB = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0"
)

// input is a small modelInput whose line, for an id of 4 characters, is lineLen bytes.
func input(text string) json.RawMessage {
	return json.RawMessage(`{"messages":[{"role":"user","content":[{"text":"` + text + `"}]}]}`)
}

// lineLen is the length of a staged line of id "r000" and input("x").
var lineLen = len(`{"recordId":"r000","modelInput":`) + len(input("x")) + len("}\n")

func TestStagerRotation(t *testing.T) {
	type add struct {
		model string
		n     int
	}
	type want struct {
		model    string
		number   int
		records  int
		onDemand bool
	}
	tests := []struct {
		name string
		cfg  Config
		adds []add
		want []want
	}{
		{
			name: "by records, small tail on demand",
			cfg:  Config{MinRecords: 2, MaxRecords: 3},
			adds: []add{{modelA, 7}},
			want: []want{{modelA, 1, 3, false}, {modelA, 2, 3, false}, {modelA, 3, 1, true}},
		},
		{
			name: "by records, exact multiple",
			cfg:  Config{MinRecords: 2, MaxRecords: 3},
			adds: []add{{modelA, 6}},
			want: []want{{modelA, 1, 3, false}, {modelA, 2, 3, false}},
		},
		{
			name: "tail at the minimum is a job",
			cfg:  Config{MinRecords: 2, MaxRecords: 3},
			adds: []add{{modelA, 5}},
			want: []want{{modelA, 1, 3, false}, {modelA, 2, 2, false}},
		},
		{
			name: "everything below the minimum",
			cfg:  Config{MinRecords: 100},
			adds: []add{{modelA, 4}},
			want: []want{{modelA, 1, 4, true}},
		},
		{
			name: "by bytes",
			cfg:  Config{MinRecords: 1, MaxRecords: 100, MaxPartBytes: int64(3*lineLen + 1)},
			adds: []add{{modelA, 7}},
			want: []want{{modelA, 1, 3, false}, {modelA, 2, 3, false}, {modelA, 3, 1, false}},
		},
		{
			name: "by bytes, parts below the minimum anywhere are on demand",
			cfg:  Config{MinRecords: 3, MaxRecords: 100, MaxPartBytes: int64(2 * lineLen)},
			adds: []add{{modelA, 5}},
			want: []want{{modelA, 1, 2, true}, {modelA, 2, 2, true}, {modelA, 3, 1, true}},
		},
		{
			name: "models interleaved keep their own parts",
			cfg:  Config{MinRecords: 2, MaxRecords: 2},
			adds: []add{{modelA, 1}, {modelB, 1}, {modelA, 2}, {modelB, 2}, {modelA, 1}},
			want: []want{{modelA, 1, 2, false}, {modelA, 2, 2, false}, {modelB, 1, 2, false}, {modelB, 2, 1, true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			store := newMemStore()
			tt.cfg.RunKey = "job-1/shard-0"
			s := NewStager(store, tt.cfg)
			i := 0
			for _, a := range tt.adds {
				for range a.n {
					if err := s.Add(ctx, fmt.Sprintf("r%03d", i), a.model, input("x")); err != nil {
						t.Fatal(err)
					}
					i++
				}
			}
			parts, err := s.Finish(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != len(tt.want) {
				t.Fatalf("got %d parts %+v, want %d", len(parts), parts, len(tt.want))
			}
			for k, w := range tt.want {
				p := parts[k]
				if name := partName(tt.cfg.RunKey, w.model, w.number); p.Name != name || p.Model != w.model {
					t.Errorf("part %d is %s of %s, want %s of %s", k, p.Name, p.Model, name, w.model)
				}
				if p.Records != w.records || p.OnDemand != w.onDemand {
					t.Errorf("part %d: %d records, on demand %t; want %d, %t", k, p.Records, p.OnDemand, w.records, w.onDemand)
				}
				data, err := store.Get(ctx, p.Name)
				if err != nil {
					t.Fatal(err)
				}
				if int64(len(data)) != p.Bytes || len(lines(t, data)) != p.Records {
					t.Errorf("part %d: file of %d bytes and %d lines, part says %d and %d", k, len(data), len(lines(t, data)), p.Bytes, p.Records)
				}
				if p.Bytes > tt.cfg.withDefaults().MaxPartBytes {
					t.Errorf("part %d: %d bytes, over the limit", k, p.Bytes)
				}
			}
		})
	}
}

func TestStagerLineFormat(t *testing.T) {
	ctx := testCtx(t)
	store := newMemStore()
	s := NewStager(store, Config{RunKey: "run"})
	records := []struct {
		id    string
		input string
		want  string // the modelInput as staged
	}{
		{"plain", `{"a":1}`, `{"a":1}`},
		{`quo"te\and` + "\nnewline", `{"a":"x"}`, `{"a":"x"}`},
		{"unicode-é✓", `{"text":"é\u2028"}`, `{"text":"é\u2028"}`},
		{"pretty", "{\n  \"a\": [1, 2],\r\n  \"b\": \"two\\nlines\"\n}\n", `{"a":[1,2],"b":"two\nlines"}`},
	}
	for _, r := range records {
		if err := s.Add(ctx, r.id, modelA, json.RawMessage(r.input)); err != nil {
			t.Fatal(err)
		}
	}
	parts, err := s.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := store.Get(ctx, parts[0].Name)
	got := lines(t, data)
	if len(got) != len(records) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(records), data)
	}
	for i, line := range got {
		var rec struct {
			RecordID   string          `json:"recordId"`
			ModelInput json.RawMessage `json:"modelInput"`
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("line %d %q: %v", i+1, line, err)
		}
		if rec.RecordID != records[i].id || string(rec.ModelInput) != records[i].want {
			t.Errorf("line %d: %q %s, want %q %s", i+1, rec.RecordID, rec.ModelInput, records[i].id, records[i].want)
		}
	}
}

func TestStagerRejectsRecords(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"not JSON", `{"a":`, "not JSON"},
		{"array", `[1,2]`, "not a JSON object"},
		{"string", `"text"`, "not a JSON object"},
		{"empty", ``, "not JSON"},
		{"too long", `{"text":"` + strings.Repeat("x", 200) + `"}`, "more than a part's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			store := newMemStore()
			s := NewStager(store, Config{RunKey: "run", MinRecords: 1, MaxPartBytes: 200})
			err := s.Add(ctx, "bad", modelA, json.RawMessage(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `"bad"`) {
				t.Fatalf("Add: %v, want an error about %q naming the record", err, tt.want)
			}
			// A bad record leaves the Stager usable.
			if err := s.Add(ctx, "good", modelA, input("x")); err != nil {
				t.Fatal(err)
			}
			parts, err := s.Finish(ctx)
			if err != nil || len(parts) != 1 || parts[0].Records != 1 {
				t.Fatalf("Finish: %+v, %v; want one part of one record", parts, err)
			}
		})
	}
}

func TestStagerAbort(t *testing.T) {
	ctx := testCtx(t)
	store := newMemStore()
	cfg := Config{RunKey: "run", MinRecords: 1, MaxRecords: 2}
	s := NewStager(store, cfg)
	for i := range 3 { // part 1 committed by rotation, part 2 open
		if err := s.Add(ctx, fmt.Sprint(i), modelA, input("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add(ctx, "b", modelB, input("x")); err != nil {
		t.Fatal(err)
	}
	if n := store.pendingCount(); n != 2 {
		t.Fatalf("%d uploads open, want 2", n)
	}
	s.Abort()
	if n := store.pendingCount(); n != 0 {
		t.Errorf("%d uploads still open after Abort", n)
	}
	names, _ := store.List(ctx, "")
	if want := partName(cfg.RunKey, modelA, 1); len(names) != 1 || names[0] != want {
		t.Errorf("store holds %q, want only the committed %s", names, want)
	}
	if err := s.Add(ctx, "late", modelA, input("x")); err == nil {
		t.Error("Add after Abort succeeded")
	}
	if _, err := s.Finish(ctx); err == nil {
		t.Error("Finish after Abort succeeded")
	}

	// A re-run of the same RunKey numbers its parts after the ones left behind, so no
	// name (and no job token) is reused for different records.
	again := NewStager(store, cfg)
	if err := again.Add(ctx, "0", modelA, input("x")); err != nil {
		t.Fatal(err)
	}
	parts, err := again.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := partName(cfg.RunKey, modelA, 2); len(parts) != 1 || parts[0].Name != want {
		t.Errorf("re-run staged %+v, want %s", parts, want)
	}
}

func TestStagerStoreFailureIsSticky(t *testing.T) {
	ctx := testCtx(t)
	store := newMemStore()
	store.writeErr = errors.New("disk on fire")
	s := NewStager(store, Config{RunKey: "run"})
	if err := s.Add(ctx, "1", modelA, input("x")); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Add: %v, want the write error", err)
	}
	store.writeErr = nil
	if err := s.Add(ctx, "2", modelA, input("x")); err == nil {
		t.Error("Add after a failed write succeeded")
	}
	s.Abort()
	if n := store.pendingCount(); n != 0 {
		t.Errorf("%d uploads open after Abort", n)
	}
}

func TestStagerInvalidConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no run key":        {},
		"min above max":     {RunKey: "r", MinRecords: 10, MaxRecords: 5},
		"timeout too short": {RunKey: "r", TimeoutHours: 12},
		"timeout too long":  {RunKey: "r", TimeoutHours: 169},
	} {
		t.Run(name, func(t *testing.T) {
			s := NewStager(newMemStore(), cfg)
			if err := s.Add(testCtx(t), "1", modelA, input("x")); err == nil {
				t.Error("Add succeeded")
			}
		})
	}
}

func BenchmarkStagerAdd(b *testing.B) {
	ctx := testCtx(b)
	store := newMemStore()
	store.discard = true
	s := NewStager(store, Config{RunKey: "run", MaxRecords: 1 << 30})
	in := input(strings.Repeat("lorem ipsum ", 100))
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for i := 0; b.Loop(); i++ {
		if err := s.Add(ctx, "record", modelA, in); err != nil {
			b.Fatal(err)
		}
	}
}
