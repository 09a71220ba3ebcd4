package reader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJSONL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // renderRecord of each record
	}{
		{
			name: "prompt with string id",
			in:   `{"id":"a1","prompt":"hello"}` + "\n",
			want: []string{`{"id":"a1","origin":"in.jsonl:1","messages":[{"role":"user","text":["hello"]}]}`},
		},
		{
			name: "integer ids keep their decimal text",
			in:   `{"id":12,"prompt":"p"}` + "\n" + `{"id":-3,"prompt":"p"}` + "\n" + `{"id":123456789012345678901234567890,"prompt":"p"}` + "\n",
			want: []string{
				`{"id":"12","origin":"in.jsonl:1","messages":[{"role":"user","text":["p"]}]}`,
				`{"id":"-3","origin":"in.jsonl:2","messages":[{"role":"user","text":["p"]}]}`,
				`{"id":"123456789012345678901234567890","origin":"in.jsonl:3","messages":[{"role":"user","text":["p"]}]}`,
			},
		},
		{
			name: "absent and null ids are stable ids from the base name and line",
			in:   `{"prompt":"p"}` + "\n\n" + `{"id":null,"prompt":"q"}` + "\n",
			want: []string{
				`{"id":"in.jsonl:1","origin":"in.jsonl:1","messages":[{"role":"user","text":["p"]}]}`,
				`{"id":"in.jsonl:3","origin":"in.jsonl:3","messages":[{"role":"user","text":["q"]}]}`,
			},
		},
		{
			name: "id of a wrong type",
			in:   `{"id":1.5,"prompt":"p"}` + "\n" + `{"id":true,"prompt":"p"}` + "\n" + `{"id":{},"prompt":"p"}` + "\n" + `{"id":"","prompt":"p"}` + "\n",
			want: []string{
				`{"id":"in.jsonl:1","origin":"in.jsonl:1","err_field":"id","err":"must be a string or an integer, got 1.5"}`,
				`{"id":"in.jsonl:2","origin":"in.jsonl:2","err_field":"id","err":"must be a string or an integer, got a boolean"}`,
				`{"id":"in.jsonl:3","origin":"in.jsonl:3","err_field":"id","err":"must be a string or an integer, got an object"}`,
				`{"id":"in.jsonl:4","origin":"in.jsonl:4","err_field":"id","err":"must not be empty"}`,
			},
		},
		{
			name: "messages with block and string content",
			in:   `{"id":"m","messages":[{"role":"user","content":[{"text":"a"},{"text":"b"}]},{"role":"assistant","content":"c"},{"content":"d","role":"user"}]}` + "\n",
			want: []string{`{"id":"m","origin":"in.jsonl:1","messages":[{"role":"user","text":["a","b"]},{"role":"assistant","text":["c"]},{"role":"user","text":["d"]}]}`},
		},
		{
			name: "bad messages",
			in: strings.Join([]string{
				`{"id":"1","messages":"hi"}`,
				`{"id":"2","messages":[]}`,
				`{"id":"3","messages":[{"role":"system","content":"x"}]}`,
				`{"id":"4","messages":[{"role":"user"}]}`,
				`{"id":"5","messages":[{"role":"user","content":[{"video":{}}]}]}`,
				`{"id":"6","messages":[{"role":"user","content":[{"text":5}]}]}`,
				`{"id":"7","messages":[{"role":"user","content":"a"},7]}`,
				`{"id":"8","messages":[{"role":"user","content":""}]}`,
				`{"id":"9","messages":[{"role":"user","content":[]}]}`,
			}, "\n"),
			want: []string{
				`{"id":"1","origin":"in.jsonl:1","err_field":"messages","err":"must be an array, got a string"}`,
				`{"id":"2","origin":"in.jsonl:2","err_field":"messages","err":"must not be empty"}`,
				`{"id":"3","origin":"in.jsonl:3","err_field":"messages[0].role","err":"must be \"user\" or \"assistant\", got \"system\""}`,
				`{"id":"4","origin":"in.jsonl:4","err_field":"messages[0].content","err":"missing"}`,
				`{"id":"5","origin":"in.jsonl:5","err_field":"messages[0].content[0]","err":"must have one of \"text\", \"image\", \"document\" or \"cachePoint\""}`,
				`{"id":"6","origin":"in.jsonl:6","err_field":"messages[0].content[0].text","err":"must be a string, got a number"}`,
				`{"id":"7","origin":"in.jsonl:7","err_field":"messages[1]","err":"must be an object, got a number"}`,
				`{"id":"8","origin":"in.jsonl:8","err_field":"messages[0].content","err":"must not be empty"}`,
				`{"id":"9","origin":"in.jsonl:9","err_field":"messages[0].content","err":"must not be empty"}`,
			},
		},
		{
			name: "both or neither of prompt and messages",
			in:   `{"id":"b","prompt":"p","messages":[{"role":"user","content":"m"}]}` + "\n" + `{"id":"n","system":"s"}` + "\n",
			want: []string{
				`{"id":"b","origin":"in.jsonl:1","err_field":"messages","err":"\"prompt\" and \"messages\" are both set; use one"}`,
				`{"id":"n","origin":"in.jsonl:2","err_field":"prompt","err":"missing: a record needs \"prompt\" or \"messages\""}`,
			},
		},
		{
			name: "wrong types and empty prompt",
			in:   `{"id":"1","prompt":5}` + "\n" + `{"id":"2","prompt":""}` + "\n" + `{"id":"3","prompt":"p","system":5}` + "\n",
			want: []string{
				`{"id":"1","origin":"in.jsonl:1","err_field":"prompt","err":"must be a string, got a number"}`,
				`{"id":"2","origin":"in.jsonl:2","err_field":"prompt","err":"must not be empty"}`,
				`{"id":"3","origin":"in.jsonl:3","err_field":"system","err":"must be a string or an array of system blocks, got a number"}`,
			},
		},
		{
			name: "system, metadata and unknown fields",
			in:   `{"x":[1,{"prompt":"no"}],"id":"s","system":"be brief","prompt":"p","metadata": {"k": [1, 2.50, "\u00e9"], "z": null} ,"y":null}` + "\n",
			want: []string{`{"id":"s","origin":"in.jsonl:1","messages":[{"role":"user","text":["p"]}],"system":"be brief","metadata":"{\"k\": [1, 2.50, \"\\u00e9\"], \"z\": null}"}`},
		},
		{
			name: "scalar metadata and null metadata",
			in:   `{"prompt":"p","metadata":"tag"}` + "\n" + `{"prompt":"p","metadata":null}` + "\n",
			want: []string{
				`{"id":"in.jsonl:1","origin":"in.jsonl:1","messages":[{"role":"user","text":["p"]}],"metadata":"\"tag\""}`,
				`{"id":"in.jsonl:2","origin":"in.jsonl:2","messages":[{"role":"user","text":["p"]}]}`,
			},
		},
		{
			name: "escapes in strings and keys",
			in:   `{"\u0069d":"a\"b","prompt":"line1\nline2\t\u00e9\ud83d\ude00\/\\","system":"\ud800x"}` + "\n",
			want: []string{`{"id":"a\"b","origin":"in.jsonl:1","messages":[{"role":"user","text":["line1\nline2\té😀/\\"]}],"system":"` + "\uFFFD" + `x"}`},
		},
		{
			name: "byte-order mark, CRLF, blank lines and no final newline",
			in:   "\xEF\xBB\xBF{\"prompt\":\"a\"}\r\n\r\n   \t\r\n{\"prompt\":\"b\"}\r\n\n{\"prompt\":\"c\"}",
			want: []string{
				`{"id":"in.jsonl:1","origin":"in.jsonl:1","messages":[{"role":"user","text":["a"]}]}`,
				`{"id":"in.jsonl:4","origin":"in.jsonl:4","messages":[{"role":"user","text":["b"]}]}`,
				`{"id":"in.jsonl:6","origin":"in.jsonl:6","messages":[{"role":"user","text":["c"]}]}`,
			},
		},
		{
			name: "only blank lines",
			in:   "\n \r\n\t\n",
		},
		{
			name: "empty input",
			in:   "",
		},
		{
			name: "not JSON, not an object, trailing garbage",
			in:   "hello\n[1,2]\n{\"prompt\":\"a\"} x\n{\"prompt\":\n\"p\"\n",
			want: []string{
				`{"id":"in.jsonl:1","origin":"in.jsonl:1","err":"not valid JSON: invalid character 'h' looking for beginning of value (at byte 1)"}`,
				`{"id":"in.jsonl:2","origin":"in.jsonl:2","err":"not a JSON object, got an array"}`,
				`{"id":"in.jsonl:3","origin":"in.jsonl:3","err":"not valid JSON: invalid character 'x' after top-level value (at byte 16)"}`,
				`{"id":"in.jsonl:4","origin":"in.jsonl:4","err":"not valid JSON: unexpected end of JSON input (at byte 10)"}`,
				`{"id":"in.jsonl:5","origin":"in.jsonl:5","err":"not a JSON object, got a string"}`,
			},
		},
		{
			name: "invalid UTF-8 keeps the id when it can",
			in:   "{\"id\":\"u1\",\"prompt\":\"ab\xffcd\"}\n{\"id\":\"\xc3\",\"prompt\":\"p\"}\n{\"prompt\":\"\xe2\x82\"}\n",
			want: []string{
				`{"id":"u1","origin":"in.jsonl:1","err":"invalid UTF-8 at byte 23"}`,
				`{"id":"in.jsonl:2","origin":"in.jsonl:2","err_field":"id","err":"is not valid UTF-8"}`,
				`{"id":"in.jsonl:3","origin":"in.jsonl:3","err":"invalid UTF-8 at byte 11"}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := readJSONL(t, filepath.Join("some", "dir", "in.jsonl"), tt.in)
			var got []string
			for _, r := range recs {
				got = append(got, strings.Replace(renderRecord(r), `some/dir/`, "", 1))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d records, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("record %d:\n got %s\nwant %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestJSONLGolden reads a messy file of every kind of line and compares the
// records with testdata/messy.golden.
func TestJSONLGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/messy.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, rec := range readAll(t, NewJSONL(bytes.NewReader(data), "testdata/messy.jsonl")) {
		out.WriteString(renderRecord(rec) + "\n")
	}
	checkGolden(t, "testdata/messy.golden", out.String())
}

func TestJSONLLongLines(t *testing.T) {
	big := strings.Repeat("x", 5<<20) // several times bufio's and Scanner's limits
	in := `{"id":"big","prompt":"` + big + `"}` + "\n" + `{"id":"after","prompt":"p"}`
	recs := readJSONL(t, "in.jsonl", in)
	if len(recs) != 2 || recs[0].Err != nil || recs[0].Messages[0].Content[0].Text != big || recs[1].ID != "after" {
		t.Fatalf("got %d records, first err %v", len(recs), recs[0].Err)
	}

	r := NewJSONL(strings.NewReader(in+"\n"+`{"id":"edge","prompt":"`+strings.Repeat("y", 100)+`"}`), "in.jsonl")
	r.maxLine = 1 << 20
	recs = readAll(t, r)
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3", len(recs))
	}
	want := `{"id":"in.jsonl:1","origin":"in.jsonl:1","err":"line is longer than 1048576 bytes"}`
	if got := renderRecord(recs[0]); got != want {
		t.Errorf("too long line:\n got %s\nwant %s", got, want)
	}
	if recs[1].ID != "after" || recs[1].Err != nil || recs[2].ID != "edge" || recs[2].Err != nil {
		t.Errorf("reading did not go on after the long line: %s, %s", renderRecord(recs[1]), renderRecord(recs[2]))
	}

	// A limit hit inside bufio's buffer (the fast path) behaves the same.
	r = NewJSONL(strings.NewReader(`{"id":"a","prompt":"0123456789"}`+"\n"+`{"id":"b","prompt":"p"}`+"\r\n"), "in.jsonl")
	r.maxLine = len(`{"id":"b","prompt":"p"}`)
	recs = readAll(t, r)
	if len(recs) != 2 || recs[0].Err == nil || recs[1].Err != nil || recs[1].ID != "b" {
		t.Errorf("small limit: got %s / %s", renderRecord(recs[0]), renderRecord(recs[1]))
	}
}

func TestJSONLMetadataIsACopy(t *testing.T) {
	r := NewJSONL(strings.NewReader(`{"prompt":"a","metadata":{"n":1}}`+"\n"+`{"prompt":"b","metadata":{"n":2}}`+"\n"), "in.jsonl")
	first, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if string(first.Metadata) != `{"n":1}` {
		t.Errorf("first metadata changed to %s after reading on", first.Metadata)
	}
}

// failingReader returns data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestJSONLReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := NewJSONL(&failingReader{data: []byte(`{"prompt":"a"}` + "\n" + `{"prompt":"partial`), err: boom}, "in.jsonl")
	ctx := context.Background()
	if rec, err := r.Next(ctx); err != nil || rec.Err != nil {
		t.Fatalf("first record: %v %v", err, rec.Err)
	}
	_, err := r.Next(ctx)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "in.jsonl") {
		t.Fatalf("got %v, want an error wrapping %v naming the file", err, boom)
	}
	if _, err2 := r.Next(ctx); !errors.Is(err2, boom) {
		t.Errorf("the error is not sticky: %v", err2)
	}
}

func TestJSONLContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewJSONL(strings.NewReader(`{"prompt":"a"}`), "in.jsonl").Next(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// lineGenerator produces n JSONL lines without holding them in memory.
type lineGenerator struct {
	n, i int
	buf  []byte
}

func (g *lineGenerator) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.i < g.n {
		g.i++
		g.buf = fmt.Appendf(g.buf, `{"id":%d,"prompt":"Summarize document %d in one line.\nBe brief.","metadata":{"batch":"b7","n":%d}}`+"\n", g.i, g.i, g.i)
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	return n, nil
}

func BenchmarkJSONL(b *testing.B) {
	var line []byte
	line = fmt.Appendf(line, `{"id":"rec-%08d","system":"You are terse.","prompt":"Summarize the following text in one line:\n%s","metadata":{"source":"s3://bucket/doc.txt","n":42}}`+"\n", 1, strings.Repeat("lorem ipsum dolor sit amet ", 20))
	data := bytes.Repeat(line, 1000)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	b.ResetTimer()
	for n := 0; n < b.N; {
		r := NewJSONL(bytes.NewReader(data), "bench.jsonl")
		for ; n < b.N; n++ {
			rec, err := r.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil || rec.Err != nil {
				b.Fatal(err, rec.Err)
			}
		}
	}
}
