package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// observed collects what the emulator decoded, for asserting what the
// binary really sent.
type observed struct {
	mu   sync.Mutex
	reqs []bedrocktest.ObservedRequest
}

func (o *observed) observe(r bedrocktest.ObservedRequest) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r.Raw = nil
	o.reqs = append(o.reqs, r)
}

func (o *observed) all() []bedrocktest.ObservedRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]bedrocktest.ObservedRequest(nil), o.reqs...)
}

func rowsByID(t *testing.T, rows []writer.Row) map[string]writer.Row {
	t.Helper()
	byID := make(map[string]writer.Row, len(rows))
	for _, r := range rows {
		if _, dup := byID[r.ID]; dup {
			t.Errorf("id %q has two rows", r.ID)
		}
		byID[r.ID] = r
	}
	return byID
}

// TestStreamWithMidStreamFaults runs --stream against streams that throw
// exceptions or are cut after their first delta: every record gets exactly
// its own whole answer, and the rows account for exactly the tokens of the
// streams the emulator completed (a completed stream retried would show
// as more tokens served than rows hold).
func TestStreamWithMidStreamFaults(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t, bedrocktest.Options{Seed: 6, Faults: bedrocktest.Faults{MidStreamException: 0.1, StreamCut: 0.05}})
	dir := t.TempDir()
	recs := makeRecords(400)
	in := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, in, recs)
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--stream", "--input", in, "--output", out, "--model", "m", "--concurrency", "16", "--max-tokens", "500")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	rows := readOutput(t, out)
	checkRows(t, recs, rows, srv)
	retried, attempts := 0, int64(0)
	for _, r := range rows {
		attempts += r.Attempts
		if r.TimeToFirstTokenMs <= 0 || r.TimeToFirstTokenMs > r.LatencyMs+1 {
			t.Errorf("id %s: time_to_first_token_ms %d, latency %d", r.ID, r.TimeToFirstTokenMs, r.LatencyMs)
		}
		if r.Attempts > 1 {
			retried++
		}
	}
	if stats := srv.Stats(); stats.OK != int64(len(recs)) || retried == 0 || stats.Requests != attempts {
		t.Errorf("emulator completed %d streams of %d requests for %d records (%d rows retried, %d attempts); stats %+v", stats.OK, stats.Requests, len(recs), retried, attempts, stats)
	}
}

type docRow struct {
	DocID string `parquet:"doc_id"`
	Title string `parquet:"title"`
	Body  string `parquet:"body"`
}

// TestTemplateOverParquetWithCachedSystem summarizes a Parquet table of
// documents (doc_id, title, body) through a template, with the system
// prompt from a file and cached.
func TestTemplateOverParquetWithCachedSystem(t *testing.T) {
	var seen observed
	srv := startEmulator(t, bedrocktest.Options{CacheMinTokens: 1, Observe: seen.observe})
	dir := t.TempDir()
	docs := make([]docRow, 60)
	for i := range docs {
		docs[i] = docRow{DocID: fmt.Sprintf("doc-%03d", i), Title: fmt.Sprintf("Report %d", i),
			Body: strings.Repeat(fmt.Sprintf("finding %d is notable. ", i), 3+i%5)}
	}
	docs[7].Title = "" // an empty field is still a field
	in := filepath.Join(dir, "docs.parquet")
	if err := parquet.WriteFile(in, docs); err != nil {
		t.Fatal(err)
	}
	tmpl := writeFile(t, dir, "summary.tmpl", "Summarize the document \"{{.title}}\" in three bullets.\n<document>\n{{trim .body}}\n</document>\n")
	system := writeFile(t, dir, "style.txt", "You write for busy executives: plain words, no jargon, numbers first.")
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", in, "--output", out, "--output-format", "parquet", "--model", "m",
		"--template", tmpl, "--id-field", "doc_id", "--system-file", system, "--cache-system", "--concurrency", "1", "--max-tokens", "300")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	byID := rowsByID(t, readOutput(t, out))
	var cacheRead, cacheWrite int64
	for _, d := range docs {
		row, ok := byID[d.DocID]
		if !ok {
			t.Errorf("no row for %s", d.DocID)
			continue
		}
		prompt := fmt.Sprintf("Summarize the document %q in three bullets.\n<document>\n%s\n</document>\n", d.Title, strings.TrimSpace(d.Body))
		if row.Status != writer.StatusOK || row.Output != bedrocktest.Answer(prompt) {
			t.Errorf("%s: %s %s %q, want the answer to %q", d.DocID, row.Status, row.ErrorMessage, row.Output, prompt)
		}
		cacheRead += row.CacheReadInputTokens
		cacheWrite += row.CacheWriteInputTokens
	}
	systemTokens := bedrocktest.CountTokens("You write for busy executives: plain words, no jargon, numbers first.")
	if cacheWrite != systemTokens || cacheRead != systemTokens*int64(len(docs)-1) {
		t.Errorf("cache write %d read %d; want the %d-token system prompt written once and read %d times", cacheWrite, cacheRead, systemTokens, len(docs)-1)
	}
	for _, r := range seen.all() {
		if len(r.System) != 1 || len(r.CachePoints) != 1 || r.CachePoints[0] != "system.1" {
			t.Fatalf("system %q cache points %v; want the system prompt then a cachePoint", r.System, r.CachePoints)
		}
	}
	m := readManifest(t, out)
	if m.Tokens.CacheRead != cacheRead || m.Tokens.CacheWrite != cacheWrite {
		t.Errorf("manifest cache tokens %+v", m.Tokens)
	}
}

// TestTemplateErrorNamesRecordAndField: a record without a field the
// template needs is one error row naming it; the others run.
func TestTemplateErrorNamesRecordAndField(t *testing.T) {
	srv := startEmulator(t, bedrocktest.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "in.jsonl", `{"id":"a","title":"T","body":"B"}
{"id":"b","title":"T"}
{"id":"c","title":"T","body":"C"}
`)
	tmpl := writeFile(t, dir, "p.tmpl", "{{.title}}: {{.body}}")
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", in, "--output", out, "--model", "m", "--template", tmpl)
	if res.code != exitSomeErrors {
		t.Fatalf("exit %d, want %d\n%s", res.code, exitSomeErrors, res.stderr)
	}
	byID := rowsByID(t, readOutput(t, out))
	if b := byID["b"]; b.Status != writer.StatusError || b.ErrorType != "TemplateError" ||
		!strings.Contains(b.ErrorMessage, "in.jsonl:2") || !strings.Contains(b.ErrorMessage, `"body"`) {
		t.Errorf("row b: %+v", b)
	}
	if byID["a"].Output != bedrocktest.Answer("T: B") || byID["c"].Output != bedrocktest.Answer("T: C") {
		t.Errorf("rows a, c: %q %q", byID["a"].Output, byID["c"].Output)
	}
}

// TestPerRecordModelsAndOverrides compares two models in one file: each
// record goes to its own model with its own parameters, and the rows and
// the manifest say which model answered.
func TestPerRecordModelsAndOverrides(t *testing.T) {
	var seen observed
	const haiku, nova = "us.anthropic.claude-3-5-haiku-20241022-v1:0", "us.amazon.nova-pro-v1:0"
	srv := startEmulator(t, bedrocktest.Options{Observe: seen.observe, Models: []string{haiku, nova}})
	dir := t.TempDir()
	var lines []string
	for i := range 40 {
		q := fmt.Sprintf("What is %d times %d?", i, i+3)
		lines = append(lines,
			fmt.Sprintf(`{"id":"q%d/haiku","model":%q,"prompt":%q,"metadata":{"q":%d}}`, i, haiku, q, i),
			fmt.Sprintf(`{"id":"q%d/nova","model":%q,"prompt":%q,"inference_config":{"temperature":0,"max_tokens":64},"additional_model_request_fields":{"inferenceConfig":{"topK":20}},"metadata":{"q":%d}}`, i, nova, q, i))
	}
	lines = append(lines, `{"id":"few-shot","messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"},{"role":"user","content":"3+3?"}]}`)
	in := writeFile(t, dir, "eval.jsonl", strings.Join(lines, "\n"))
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", in, "--output", out, "--model", haiku, "--max-tokens", "256", "--temperature", "0.5")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	byID := rowsByID(t, readOutput(t, out))
	if len(byID) != 81 {
		t.Errorf("%d rows, want 81", len(byID))
	}
	for id, row := range byID {
		want := haiku
		if strings.HasSuffix(id, "/nova") {
			want = nova
		}
		if row.ModelID != want || row.Status != writer.StatusOK {
			t.Errorf("%s: model %s status %s, want %s ok", id, row.ModelID, row.Status, want)
		}
	}
	if fs := byID["few-shot"]; fs.Output != bedrocktest.Answer("3+3?") {
		t.Errorf("few-shot answered %q", fs.Output)
	}
	for _, r := range seen.all() {
		switch r.ModelID {
		case nova:
			if *r.MaxTokens != 64 || *r.Temperature != 0 || string(r.AdditionalModelRequestFields) != `{"inferenceConfig":{"topK":20}}` {
				t.Errorf("nova request: max %d temp %g extra %s", *r.MaxTokens, *r.Temperature, r.AdditionalModelRequestFields)
			}
		case haiku:
			if *r.MaxTokens != 256 || *r.Temperature != 0.5 || len(r.AdditionalModelRequestFields) != 0 {
				t.Errorf("haiku request: max %d temp %g extra %s", *r.MaxTokens, *r.Temperature, r.AdditionalModelRequestFields)
			}
		default:
			t.Errorf("request to %s", r.ModelID)
		}
	}
	m := readManifest(t, out)
	if m.Models[haiku] == nil || m.Models[nova] == nil || m.Models[haiku].OK != 41 || m.Models[nova].OK != 40 {
		t.Errorf("manifest models %+v", m.Models)
	}
}

// TestJSONSchemaExtraction forces structured output; answers that break
// the schema are asked for again, and a record that never gets a matching
// answer is a SchemaMismatch row.
func TestJSONSchemaExtraction(t *testing.T) {
	var seen observed
	srv := startEmulator(t, bedrocktest.Options{Seed: 3, Observe: seen.observe, Faults: bedrocktest.Faults{SchemaMismatch: 0.35}})
	dir := t.TempDir()
	schema := writeFile(t, dir, "invoice.schema.json", `{
  "title": "invoice", "type": "object", "additionalProperties": false,
  "required": ["vendor", "total", "lines"],
  "properties": {
    "vendor": {"type": "string"},
    "total": {"type": "number", "minimum": 0},
    "lines": {"type": "array", "items": {"type": "object", "required": ["item", "qty"],
      "properties": {"item": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}}
  }
}`)
	recs := makeRecords(120)
	in := filepath.Join(dir, "in.jsonl")
	writeJSONLInput(t, in, recs)
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", in, "--output", out, "--model", "m", "--json-schema", schema, "--max-tokens", "400")
	if res.code != exitOK && res.code != exitSomeErrors {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	rows := readOutput(t, out)
	if len(rows) != len(recs) {
		t.Fatalf("%d rows for %d records", len(rows), len(recs))
	}
	var ok, mismatched, retried int
	for _, r := range rows {
		switch {
		case r.Status == writer.StatusOK:
			ok++
			var v struct {
				Vendor *string  `json:"vendor"`
				Total  *float64 `json:"total"`
				Lines  []struct {
					Item *string `json:"item"`
					Qty  *int    `json:"qty"`
				} `json:"lines"`
			}
			if err := json.Unmarshal(r.OutputJSON, &v); err != nil || v.Vendor == nil || v.Total == nil || len(v.Lines) == 0 ||
				v.Lines[0].Item == nil || v.Lines[0].Qty == nil || r.Output != string(r.OutputJSON) || r.StopReason != "tool_use" {
				t.Errorf("%s: output_json %s output %q (%v)", r.ID, r.OutputJSON, r.Output, err)
			}
			if r.Attempts > 1 {
				retried++
			}
		case r.ErrorType == "SchemaMismatch" && r.Attempts == 3 && r.OutputTokens > 0:
			mismatched++
		default:
			t.Errorf("%s: %s %s after %d attempts: %s", r.ID, r.Status, r.ErrorType, r.Attempts, r.ErrorMessage)
		}
	}
	if retried == 0 || ok < 100 || ok+mismatched != len(recs) {
		t.Errorf("%d ok (%d after a mismatch), %d SchemaMismatch", ok, retried, mismatched)
	}
	for _, r := range seen.all() {
		if r.ToolChoice != "tool" || r.ToolChoiceName != "invoice" || len(r.Tools) != 1 {
			t.Fatalf("tool choice %q %q, tools %d", r.ToolChoice, r.ToolChoiceName, len(r.Tools))
		}
	}
	if stats := srv.Stats(); stats.SchemaMismatches == 0 {
		t.Error("the emulator broke no answer: the retries were not tested")
	}
}

// TestGuardrailTierAndLatency passes the tier, latency and guardrail
// through; a guardrail intervention is an ok row, counted in the manifest.
func TestGuardrailTierAndLatency(t *testing.T) {
	var seen observed
	srv := startEmulator(t, bedrocktest.Options{Observe: seen.observe})
	dir := t.TempDir()
	in := writeFile(t, dir, "in.jsonl", fmt.Sprintf(`{"id":"fine","prompt":"Tell me about tea"}
{"id":"blocked","prompt":"Tell me %s something"}
`, bedrocktest.GuardrailMarker))
	out := filepath.Join(dir, "out")
	res := runBatch(t, srv.URL, "run", "--input", in, "--output", out, "--model", "m", "--guardrail", "abc123xyz:2",
		"--service-tier", "flex", "--latency", "optimized")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	byID := rowsByID(t, readOutput(t, out))
	if b := byID["blocked"]; b.Status != writer.StatusOK || b.StopReason != "guardrail_intervened" || b.Output != bedrocktest.GuardrailBlockedMessage {
		t.Errorf("blocked row %+v", b)
	}
	for _, r := range byID {
		if r.ServiceTier != "flex" {
			t.Errorf("%s served by tier %q", r.ID, r.ServiceTier)
		}
	}
	for _, r := range seen.all() {
		if r.GuardrailID != "abc123xyz" || r.GuardrailVersion != "2" || r.ServiceTier != "flex" || r.Latency != "optimized" {
			t.Errorf("sent guardrail %s:%s tier %s latency %s", r.GuardrailID, r.GuardrailVersion, r.ServiceTier, r.Latency)
		}
	}
	m := readManifest(t, out)
	if m.GuardrailIntervened != 1 || m.ServiceTiers["flex"] != 2 {
		t.Errorf("manifest guardrail %d tiers %v", m.GuardrailIntervened, m.ServiceTiers)
	}
}

// TestBatchFormatsInBedrockBatchStyle runs Bedrock batch-inference and
// OpenAI batch records unchanged, writes Bedrock's output style, and
// resumes from it without sending anything again.
func TestBatchFormatsInBedrockBatchStyle(t *testing.T) {
	var seen observed
	srv := startEmulator(t, bedrocktest.Options{Observe: seen.observe})
	dir := t.TempDir()
	in := writeFile(t, dir, "mixed.jsonl", `{"recordId":"b1","modelInput":{"messages":[{"role":"user","content":[{"text":"Name a river"}]}],"system":[{"text":"Be brief."}],"inferenceConfig":{"maxTokens":50,"temperature":0}}}
{"custom_id":"o1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be kind."},{"role":"user","content":[{"type":"text","text":"Name a mountain"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}],"max_tokens":70}}
{"recordId":"b2","modelInput":{"messages":[{"role":"user","content":[{"text":"`+bedrocktest.InvalidMarker+`"}]}]}}
`)
	out := filepath.Join(dir, "out")
	args := []string{"run", "--input", in, "--output", out, "--model", "m", "--output-style", "bedrock-batch"}
	res := runBatch(t, srv.URL, args...)
	if res.code != exitSomeErrors {
		t.Fatalf("exit %d, want %d\n%s", res.code, exitSomeErrors, res.stderr)
	}
	lines := map[string]map[string]json.RawMessage{}
	matches, _ := filepath.Glob(filepath.Join(out, "part-*.jsonl"))
	for _, f := range matches {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var v map[string]json.RawMessage
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatal(err)
			}
			var id string
			json.Unmarshal(v["recordId"], &id)
			lines[id] = v
		}
	}
	var b1 struct {
		ModelOutput struct {
			Output struct {
				Message struct {
					Content []struct{ Text string } `json:"content"`
				} `json:"message"`
			} `json:"output"`
			Usage struct{ InputTokens int64 } `json:"usage"`
		} `json:"modelOutput"`
	}
	raw, _ := json.Marshal(lines["b1"])
	if err := json.Unmarshal(raw, &b1); err != nil || len(b1.ModelOutput.Output.Message.Content) != 1 ||
		b1.ModelOutput.Output.Message.Content[0].Text != bedrocktest.Answer("Name a river") {
		t.Errorf("b1 line %s", raw)
	}
	if string(lines["b1"]["modelInput"]) != `{"messages":[{"role":"user","content":[{"text":"Name a river"}]}],"system":[{"text":"Be brief."}],"inferenceConfig":{"maxTokens":50,"temperature":0}}` {
		t.Errorf("b1 modelInput not echoed as given: %s", lines["b1"]["modelInput"])
	}
	if _, ok := lines["o1"]["modelOutput"]; !ok {
		t.Errorf("o1 line %v", lines["o1"])
	}
	if e := lines["b2"]["error"]; !strings.Contains(string(e), `"errorCode":400`) || !strings.Contains(string(e), "ValidationException") {
		t.Errorf("b2 error %s", e)
	}
	for _, r := range seen.all() {
		switch r.ModelID {
		case "m":
		default:
			t.Errorf("model %s: the OpenAI body's model must not be used", r.ModelID)
		}
		if len(r.Messages) > 0 && strings.Contains(strings.Join(r.Messages[0].Text, " "), "mountain") {
			if len(r.System) != 1 || r.System[0] != "Be kind." || len(r.Messages[0].Images) != 1 || *r.MaxTokens != 70 {
				t.Errorf("OpenAI record sent as system %q images %d max %v", r.System, len(r.Messages[0].Images), r.MaxTokens)
			}
		}
	}
	before := srv.Stats().Requests
	res = runBatch(t, srv.URL, args...)
	if res.code != exitSomeErrors || srv.Stats().Requests != before {
		t.Errorf("re-run: exit %d, %d new requests; want nothing sent\n%s", res.code, srv.Stats().Requests-before, res.stderr)
	}
	if m := readManifest(t, out); m.Counts.Records != 3 || m.Counts.OK != 2 {
		t.Errorf("manifest counts %+v", m.Counts)
	}
}

// TestDocumentsFromS3 attaches documents and images named by s3:// URIs:
// for a model that reads S3 itself they go as s3Location, for any other
// the tool reads the bytes from S3 and sends them; a missing object is one
// error row.
func TestDocumentsFromS3(t *testing.T) {
	s3test.Endpoint(t)
	e := newS3Env(t)
	var seen observed
	const nova, claude = "us.amazon.nova-lite-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"
	srv := startEmulator(t, bedrocktest.Options{Observe: seen.observe, S3LocationModels: []string{"amazon.nova-lite-v1:0"}})
	report := []byte("Quarterly report. Revenue grew nine percent. Costs fell.")
	chart := []byte("\x89PNG\r\n\x1a\n fake chart pixels")
	e.put(t, "docs/q3 report.txt", report)
	e.put(t, "docs/chart.png", chart)
	var lines []string
	for _, model := range []string{nova, claude} {
		lines = append(lines, fmt.Sprintf(`{"id":%q,"model":%q,"prompt":"Summarize the attachments.","documents":[%q],"images":%q}`,
			"sum/"+model, model, e.uri("docs/q3 report.txt"), e.uri("docs/chart.png")))
	}
	lines = append(lines, fmt.Sprintf(`{"id":"missing","model":%q,"prompt":"Summarize.","documents":%q}`, claude, e.uri("docs/gone.pdf")))
	e.put(t, "in/records.jsonl", []byte(strings.Join(lines, "\n")))
	res := runBatchS3(t, e.batchEnv(srv.URL), "run", "--input", e.uri("in/records.jsonl"), "--output", e.uri("out/"),
		"--model", claude, "--s3-endpoint", e.endpoint, "--s3-location-models", "amazon.nova-*", "--max-tokens", "200")
	if res.code != exitSomeErrors {
		t.Fatalf("exit %d, want %d\n%s", res.code, exitSomeErrors, res.stderr)
	}
	rows, _ := checkS3Output(t, e, "out/", "jsonl")
	byID := rowsByID(t, rows)
	for _, model := range []string{nova, claude} {
		if r := byID["sum/"+model]; r.Status != writer.StatusOK || r.Output != bedrocktest.Answer("Summarize the attachments.") {
			t.Errorf("%s: %+v", model, r)
		}
	}
	if m := byID["missing"]; m.Status != writer.StatusError || m.ErrorType != "InvalidContent" || !strings.Contains(m.ErrorMessage, "gone.pdf") {
		t.Errorf("missing document row: %+v", m)
	}
	sent := map[string]bool{}
	for _, r := range seen.all() {
		sent[r.ModelID] = true
		if len(r.Messages) != 1 || len(r.Messages[0].Documents) != 1 || len(r.Messages[0].Images) != 1 {
			t.Fatalf("%s: sent %+v", r.ModelID, r.Messages)
		}
		doc, img := r.Messages[0].Documents[0], r.Messages[0].Images[0]
		if doc.Format != "txt" || doc.Name == "" || img.Format != "png" || doc.Block > img.Block {
			t.Errorf("%s: document %+v image %+v", r.ModelID, doc, img)
		}
		switch r.ModelID {
		case nova:
			if doc.S3URI != e.uri("docs/q3 report.txt") || img.S3URI != e.uri("docs/chart.png") || doc.Bytes != 0 {
				t.Errorf("nova got document %+v image %+v; want s3Location", doc, img)
			}
		case claude:
			if doc.S3URI != "" || doc.Bytes != len(report) || img.Bytes != len(chart) {
				t.Errorf("claude got document %+v image %+v; want the bytes", doc, img)
			}
		}
	}
	if !sent[nova] || !sent[claude] || len(seen.all()) != 2 {
		t.Errorf("calls: %v (%d); the missing document must not be sent", sent, len(seen.all()))
	}
}
