package reader

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestJSONLBatchFormats(t *testing.T) {
	tests := []struct {
		name string
		in   []string // lines
		want []string // renderRecord of each record
	}{
		{
			name: "Bedrock batch record in the Converse shape",
			in: []string{
				`{"recordId":"CALL0000001","modelInput":{"system":[{"text":"Be terse."},{"cachePoint":{"type":"default"}}],"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"` + png64 + `"}}},{"text":"Describe."}]}],"inferenceConfig":{"maxTokens":300,"temperature":0.2,"topP":0.5,"stopSequences":["STOP"]},"additionalModelRequestFields":{"top_k":5}}}`,
				`{"modelInput":{"messages":[{"role":"user","content":[{"text":"no recordId"}]}]}}`,
				`{"recordId":7,"modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"temperature":1,"system":"sys","messages":[{"role":"user","content":[{"type":"text","text":"Anthropic body"}]}]}}`,
			},
			want: []string{
				`{"id":"CALL0000001","origin":"in.jsonl:1","style":"bedrock-batch","messages":[{"role":"user","content":["image png bytes=16:89504e47","text:Describe."]}],"system":"Be terse.","cache_system":true,"inference":"max_tokens=300 temperature=0.2 top_p=0.5 stop=[\"STOP\"]","additional":"{\"top_k\":5}","raw":"{\"system\":[{\"text\":\"Be terse.\"},{\"cachePoint\":{\"type\":\"default\"}}],\"messages\":[{\"role\":\"user\",\"content\":[{\"image\":{\"format\":\"png\",\"source\":{\"bytes\":\"iVBORw0KGgoAAAANSUhEUg==\"}}},{\"text\":\"Describe.\"}]}],\"inferenceConfig\":{\"maxTokens\":300,\"temperature\":0.2,\"topP\":0.5,\"stopSequences\":[\"STOP\"]},\"additionalModelRequestFields\":{\"top_k\":5}}"}`,
				`{"id":"in.jsonl:2","origin":"in.jsonl:2","style":"bedrock-batch","messages":[{"role":"user","text":["no recordId"]}],"raw":"{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"no recordId\"}]}]}"}`,
				`{"id":"7","origin":"in.jsonl:3","style":"bedrock-batch","messages":[{"role":"user","text":["Anthropic body"]}],"system":"sys","inference":"max_tokens=100 temperature=1","raw":"{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":100,\"temperature\":1,\"system\":\"sys\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Anthropic body\"}]}]}"}`,
			},
		},
		{
			name: "bad Bedrock batch records name the field",
			in: []string{
				`{"recordId":"r1","modelInput":"hi"}`,
				`{"recordId":"r2","modelInput":{"system":"s"}}`,
				`{"recordId":"r3","modelInput":{"messages":[{"role":"user","content":"x"}],"inferenceConfig":{"maxTokens":-1}}}`,
				`{"recordId":"r4","modelInput":{"messages":[{"role":"user","content":"x"}],"inferenceConfig":{"max_tokens":10}}}`,
				`{"recordId":"r5","modelInput":{"messages":[{"role":"user","content":[{"image":{"format":"tiff","source":{"bytes":"AAAA"}}}]}]}}`,
				`{"recordId":"r6","modelInput":{"messages":[{"role":"user","content":"x"}],"system":[{"cachePoint":{}}]}}`,
				`{"recordId":"r7","modelInput":{"messages":[{"role":"user","content":"x"}],"additionalModelRequestFields":"k"}}`,
				`{"recordId":"r8","modelInput":{"messages":[{"role":"user","content":"x"}],"top_p":-2}}`,
				`{"recordId":"","modelInput":{}}`,
			},
			want: []string{
				`{"id":"r1","origin":"in.jsonl:1","err_field":"modelInput","err":"must be an object, got a string"}`,
				`{"id":"r2","origin":"in.jsonl:2","err_field":"modelInput.messages","err":"missing"}`,
				`{"id":"r3","origin":"in.jsonl:3","err_field":"modelInput.inferenceConfig.maxTokens","err":"must be from 1 to 2147483647, got -1"}`,
				`{"id":"r4","origin":"in.jsonl:4","err_field":"modelInput.inferenceConfig.max_tokens","err":"unknown inference parameter: want maxTokens, temperature, topP or stopSequences"}`,
				`{"id":"r5","origin":"in.jsonl:5","err_field":"modelInput.messages[0].content[0].image.format","err":"unknown image format \"tiff\": want png, jpeg, gif or webp"}`,
				`{"id":"r6","origin":"in.jsonl:6","err_field":"modelInput.system[0]","err":"a cachePoint must follow the system text"}`,
				`{"id":"r7","origin":"in.jsonl:7","err_field":"modelInput.additionalModelRequestFields","err":"must be a JSON object, got a string"}`,
				`{"id":"r8","origin":"in.jsonl:8","err_field":"modelInput.top_p","err":"must be a finite number ≥ 0, got -2"}`,
				`{"id":"in.jsonl:9","origin":"in.jsonl:9","err_field":"recordId","err":"must not be empty"}`,
			},
		},
		{
			name: "OpenAI batch request",
			in: []string{
				`{"custom_id":"req-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[` +
					`{"role":"system","content":"You are terse."},{"role":"user","content":"Hello"},` +
					`{"role":"user","content":[{"type":"text","text":"And this:"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + png64 + `","detail":"low"}}]},` +
					`{"role":"assistant","content":"Hi."},{"role":"developer","content":[{"type":"text","text":"Answer in French."}]},` +
					`{"role":"user","content":[{"type":"file","file":{"filename":"Q3 report.pdf","file_data":"data:application/pdf;base64,` + pdf64 + `"}},{"type":"text","text":"Summarize."}]}],` +
					`"max_tokens":50,"max_completion_tokens":60,"temperature":0.7,"top_p":1,"stop":"END","n":1,"response_format":{"type":"text"}}}`,
				`{"custom_id":"req-2","body":{"messages":[{"role":"user","content":"s3 image"},{"role":"user","content":[{"type":"image_url","image_url":"s3://b/cat.jpg"}]}],"max_tokens":10,"stop":["a","b"]}}`,
			},
			want: []string{
				`{"id":"req-1","origin":"in.jsonl:1","style":"openai","messages":[{"role":"user","content":["text:Hello","text:And this:","image png bytes=16:89504e47"]},{"role":"assistant","text":["Hi."]},{"role":"user","content":["document pdf name=Q3 report bytes=15:25504446","text:Summarize."]}],"system":"You are terse.\n\nAnswer in French.","inference":"max_tokens=60 temperature=0.7 top_p=1 stop=[\"END\"]","raw":"{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},{\"role\":\"user\",\"content\":\"Hello\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"And this:\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==\",\"detail\":\"low\"}}]},{\"role\":\"assistant\",\"content\":\"Hi.\"},{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Answer in French.\"}]},{\"role\":\"user\",\"content\":[{\"type\":\"file\",\"file\":{\"filename\":\"Q3 report.pdf\",\"file_data\":\"data:application/pdf;base64,JVBERi0xLjcKJeLjz9MK\"}},{\"type\":\"text\",\"text\":\"Summarize.\"}]}],\"max_tokens\":50,\"max_completion_tokens\":60,\"temperature\":0.7,\"top_p\":1,\"stop\":\"END\",\"n\":1,\"response_format\":{\"type\":\"text\"}}"}`,
				`{"id":"req-2","origin":"in.jsonl:2","style":"openai","messages":[{"role":"user","content":["text:s3 image","image jpeg loc=s3://b/cat.jpg"]}],"inference":"max_tokens=10 stop=[\"a\" \"b\"]","raw":"{\"messages\":[{\"role\":\"user\",\"content\":\"s3 image\"},{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":\"s3://b/cat.jpg\"}]}],\"max_tokens\":10,\"stop\":[\"a\",\"b\"]}"}`,
			},
		},
		{
			name: "bad OpenAI requests name the field",
			in: []string{
				`{"custom_id":"o1","body":{"messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}}`,
				`{"custom_id":"o2","url":"/v1/embeddings","body":{"input":"x"}}`,
				`{"custom_id":"o3","body":{"messages":[{"role":"system","content":"only system"}]}}`,
				`{"custom_id":"o4","body":{"messages":[{"role":"user","content":"x"},{"role":"tool","content":"42"}]}}`,
				`{"custom_id":"o5","body":{"messages":[{"role":"user","content":"x"}],"max_tokens":0}}`,
				`{"custom_id":"o6","body":{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc"}}]}]}}`,
				`{"custom_id":"o7","body":{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}}`,
				`{"custom_id":"o8","body":{"messages":[{"role":"assistant","content":null,"tool_calls":[]}]}}`,
				`{"custom_id":"o9","body":{"messages":[{"role":"user","content":"x"}],"stop":[1]}}`,
				`{"custom_id":"o10","body":"x"}`,
				`{"custom_id":"o11","body":{"messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + png64 + `"}}]},{"role":"user","content":"x"}]}}`,
				`{"custom_id":{"a":1},"body":{}}`,
			},
			want: []string{
				`{"id":"o1","origin":"in.jsonl:1","err_field":"body.messages[0].content[1].image_url.url","err":"remote image URLs are not fetched; use a data: URI or s3://"}`,
				`{"id":"o2","origin":"in.jsonl:2","err_field":"url","err":"only \"/v1/chat/completions\" requests can be sent to Bedrock, got \"/v1/embeddings\""}`,
				`{"id":"o3","origin":"in.jsonl:3","err_field":"body.messages","err":"has no user or assistant message"}`,
				`{"id":"o4","origin":"in.jsonl:4","err_field":"body.messages[1].role","err":"must be \"system\", \"developer\", \"user\" or \"assistant\", got \"tool\""}`,
				`{"id":"o5","origin":"in.jsonl:5","err_field":"body.max_tokens","err":"must be from 1 to 2147483647, got 0"}`,
				`{"id":"o6","origin":"in.jsonl:6","err_field":"body.messages[0].content[0].file.file_data","err":"must be a data: URI string (uploaded files, file_id, cannot be read), got nothing"}`,
				`{"id":"o7","origin":"in.jsonl:7","err_field":"body.messages[0].content[0].type","err":"unsupported content part type \"input_audio\": want \"text\", \"image_url\" or \"file\""}`,
				`{"id":"o8","origin":"in.jsonl:8","err_field":"body.messages[0].content","err":"missing (tool calls cannot be sent)"}`,
				`{"id":"o9","origin":"in.jsonl:9","err_field":"body.stop[0]","err":"must be a string, got a number"}`,
				`{"id":"o10","origin":"in.jsonl:10","err_field":"body","err":"must be an object, got a string"}`,
				`{"id":"o11","origin":"in.jsonl:11","err_field":"body.messages[0].content[0]","err":"only text parts are supported in a system message"}`,
				`{"id":"in.jsonl:12","origin":"in.jsonl:12","err_field":"custom_id","err":"must be a string or an integer, got an object"}`,
			},
		},
		{
			name: "our fields win; neither shape stays invalid",
			in: []string{
				`{"id":"mine","prompt":"p","modelInput":{"messages":"ignored"},"custom_id":"x","body":"ignored"}`,
				`{"custom_id":"only-id"}`,
				`{"recordId":"r","input":"x"}`,
				`{"foo":1}`,
			},
			want: []string{
				`{"id":"mine","origin":"in.jsonl:1","messages":[{"role":"user","text":["p"]}]}`,
				`{"id":"in.jsonl:2","origin":"in.jsonl:2","err_field":"prompt","err":"missing: a record needs \"prompt\" or \"messages\""}`,
				`{"id":"in.jsonl:3","origin":"in.jsonl:3","err_field":"prompt","err":"missing: a record needs \"prompt\" or \"messages\""}`,
				`{"id":"in.jsonl:4","origin":"in.jsonl:4","err_field":"prompt","err":"missing: a record needs \"prompt\" or \"messages\""}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewJSONL(strings.NewReader(strings.Join(tt.in, "\n")), "some/dir/in.jsonl")
			checkRendered(t, readAll(t, r), "some/dir/", tt.want)
		})
	}
}

// TestJSONLFormatsGolden reads a messy file mixing every shape (a byte-order
// mark, CRLF line endings, invalid UTF-8, no final newline) and compares
// the records with testdata/formats.golden.
func TestJSONLFormatsGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/formats.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	r := NewJSONLWith(bytes.NewReader(data), "testdata/formats.jsonl", Options{KeepFields: true, PromptOptional: true})
	for _, rec := range readAll(t, r) {
		out.WriteString(renderRecord(rec) + "\n")
	}
	checkGolden(t, "testdata/formats.golden", out.String())
}

// TestJSONLBigMedia reads a line of several megabytes (an inline image
// bigger than bufio's buffer) in each shape.
func TestJSONLBigMedia(t *testing.T) {
	img := append(bytes.Clone(pngBytes), bytes.Repeat([]byte{7}, 4<<20)...)
	uri := "data:image/png;base64," + b64(img)
	in := strings.Join([]string{
		`{"id":"ours","prompt":"p","images":["` + uri + `"]}`,
		`{"recordId":"bedrock","modelInput":{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"` + b64(img) + `"}}}]}]}}`,
		`{"custom_id":"openai","body":{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"` + uri + `"}}]}]}}`,
		`{"id":"after","prompt":"p"}`,
	}, "\r\n")
	recs := readJSONL(t, "big.jsonl", in)
	if len(recs) != 4 {
		t.Fatalf("got %d records, want 4", len(recs))
	}
	for i, rec := range recs[:3] {
		if rec.Err != nil {
			t.Fatalf("record %d: %v", i, rec.Err)
		}
		m := rec.Messages[0].Content[0].Image
		if m == nil || m.Format != "png" || !bytes.Equal(m.Bytes, img) {
			t.Errorf("record %d: image not read back", i)
		}
	}
	if recs[3].ID != "after" || recs[3].Err != nil {
		t.Errorf("reading did not go on: %s", renderRecord(recs[3]))
	}
	if recs[1].Raw == nil || len(recs[1].Raw) < 4<<20 {
		t.Errorf("bedrock-batch Raw is %d bytes", len(recs[1].Raw))
	}
}

// BenchmarkJSONLShapes reads lines of each shape other than the plain one
// BenchmarkJSONL measures: what options and other formats cost.
func BenchmarkJSONLShapes(b *testing.B) {
	text := strings.Repeat("lorem ipsum dolor sit amet ", 20)
	for _, bm := range []struct {
		name string
		opts Options
		line string
	}{
		{"messages", Options{}, `{"id":"rec-1","messages":[{"role":"user","content":[{"text":"` + text + `"}]},{"role":"assistant","content":"ok"},{"role":"user","content":"more"}]}`},
		{"overrides+documents", Options{}, `{"id":"rec-1","prompt":"` + text + `","documents":["s3://bucket/docs/report.pdf"],"model":"m","inference_config":{"max_tokens":512,"temperature":0.2}}`},
		{"keep-fields", Options{KeepFields: true, PromptOptional: true}, `{"id":"rec-1","title":"Q3","body":"` + text + `","n":42}`},
		{"bedrock-batch", Options{}, `{"recordId":"REC0000001","modelInput":{"system":[{"text":"Be terse."}],"messages":[{"role":"user","content":[{"text":"` + text + `"}]}],"inferenceConfig":{"maxTokens":512}}}`},
		{"openai", Options{}, `{"custom_id":"rec-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"` + text + `"}],"max_tokens":512}}`},
	} {
		b.Run(bm.name, func(b *testing.B) {
			data := bytes.Repeat([]byte(bm.line+"\n"), 1000)
			ctx := b.Context()
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.line) + 1))
			for n := 0; n < b.N; {
				r := NewJSONLWith(bytes.NewReader(data), "bench.jsonl", bm.opts)
				for ; n < b.N; n++ {
					rec, err := r.Next(ctx)
					if err != nil {
						break
					}
					if rec.Err != nil {
						b.Fatal(rec.Err)
					}
				}
			}
		})
	}
}
