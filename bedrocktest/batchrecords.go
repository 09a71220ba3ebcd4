package bedrocktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/bedrock-batch/bedrock-batch/internal/jsonenc"
)

// Output layout, from the user guide ("View the results of a batch inference job"): every
// input .jsonl file gets an output file of the same name plus ".out", and the job a
// manifest.json.out, all under <outputDataConfig s3Uri>/<job id>/. A line is
// {"recordId", "modelInput", "modelOutput"}, where an "error" object
// {"errorCode": <int>, "errorMessage"} replaces modelOutput when the record failed; for a
// Converse job modelOutput is the Converse response body. bedrocktest keeps the input order.
const batchManifestName = "manifest.json.out"

// batchFile is one input file and the output lines written for it so far.
type batchFile struct {
	key     string // the input object's key
	outName string // the output object's name under the job's prefix: the input's name + ".out"
	out     []byte
}

// batchRecord is one non-blank input line: {"recordId": "...", "modelInput": {...}}.
type batchRecord struct {
	file      int
	id        string          // recordId as given, or one made up (Bedrock adds one when it is missing)
	input     json.RawMessage // modelInput exactly as given
	malformed string          // why the line is not such an object, or ""
}

// parseRecords splits a job's input files into records. Blank lines are not records.
func parseRecords(jobID string, files []batchFile, data [][]byte) (records []batchRecord, malformed int) {
	for fi, d := range data {
		for n := 1; len(d) > 0; n++ {
			var line []byte
			line, d, _ = bytes.Cut(d, []byte{'\n'})
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			r := batchRecord{file: fi}
			var rec struct {
				RecordID   *string         `json:"recordId"`
				ModelInput json.RawMessage `json:"modelInput"`
			}
			switch err := json.Unmarshal(line, &rec); {
			case err != nil:
				r.malformed = fmt.Sprintf("Line %d of %s is not a JSON object with a recordId string and a modelInput object: %v", n, files[fi].key, err)
			case len(rec.ModelInput) == 0 || rec.ModelInput[0] != '{':
				r.malformed = fmt.Sprintf("Line %d of %s has no modelInput object.", n, files[fi].key)
			default:
				r.input = rec.ModelInput
			}
			if rec.RecordID != nil {
				r.id = *rec.RecordID
			} else {
				r.id = madeUpRecordID(jobID, len(records))
			}
			if r.malformed != "" {
				malformed++
			}
			records = append(records, r)
		}
	}
	return records, malformed
}

// madeUpRecordID is the id of a record that had none: 11 upper-case alphanumerics, like the
// ids the user guide shows, stable for a job and a position.
func madeUpRecordID(jobID string, i int) string {
	sum := fnv64a(jobID + "/" + strconv.Itoa(i))
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var id [11]byte
	for k := range id {
		id[k] = digits[sum%36]
		sum /= 36
	}
	return string(id[:])
}

// process answers the job's records up to target (exclusive), in input order.
func (b *batchJobs) process(j *batchJob, target int) {
	for ; j.done < target; j.done++ {
		r := &j.records[j.done]
		f := &j.files[r.file]
		var res recordResult
		f.out, res = b.appendRecord(f.out, j.spec.modelID, r)
		b.stats.processed.Add(1)
		if res.ok {
			j.ok++
			j.inTokens += res.in
			j.outTokens += res.out
			b.stats.ok.Add(1)
			b.stats.inputTokens.Add(res.in)
			b.stats.outputTokens.Add(res.out)
		} else {
			j.errs++
			b.stats.errors.Add(1)
		}
	}
}

// recordResult is how one record went.
type recordResult struct {
	ok      bool
	in, out int64 // input tokens (cached or not) and output tokens of an ok record
}

// appendRecord appends the output line of one record. The modelInput is answered by the same
// functions as an on-demand Converse call (parseCall, validate, measure, Handler.answer,
// appendConverse), so text and usage match a Converse call of the same body; only the
// metrics.latencyMs differs. Faults, quotas and Observe are on-demand matters and do not apply.
func (b *batchJobs) appendRecord(dst []byte, modelID string, r *batchRecord) ([]byte, recordResult) {
	dst = append(dst, `{"recordId":`...)
	dst = jsonenc.AppendString(dst, r.id)
	if r.input != nil {
		dst = append(dst, `,"modelInput":`...)
		dst = append(dst, r.input...)
	}
	c, code, msg := b.check(modelID, r)
	if code != 0 {
		dst = append(dst, `,"error":{"errorCode":`...)
		dst = strconv.AppendInt(dst, int64(code), 10)
		dst = append(dst, `,"errorMessage":`...)
		dst = jsonenc.AppendString(dst, msg)
		return append(dst, "}}\n"...), recordResult{}
	}
	rep := b.h.answer(&c, c.measure())
	dst = append(dst, `,"modelOutput":`...)
	dst = appendConverse(dst, rep, b.opts.recordLatencyMs())
	res := recordResult{ok: true, in: rep.inputTokens + rep.cacheRead + rep.cacheWrite, out: rep.outputTokens}
	return append(dst, "}\n"...), res
}

// check decodes a record's modelInput, and returns the errorCode and errorMessage of a
// record that fails, or code 0.
func (b *batchJobs) check(modelID string, r *batchRecord) (c call, code int, msg string) {
	if r.malformed != "" {
		return c, 400, r.malformed
	}
	if b.opts.FailRecord != nil {
		if code, msg, fail := b.opts.FailRecord(r.id); fail {
			return c, code, msg
		}
	}
	c, err := parseCall(modelID, false, r.input)
	if err != nil {
		return c, 400, err.Error()
	}
	// The user guide: "Batch inference doesn't support tool calling (function calling) for
	// jobs that use the Converse invocation type. Records that include toolConfig fail with a
	// 400 error."
	if c.req.ToolConfig != nil {
		return c, 400, "Batch inference with the Converse invocation type does not support toolConfig."
	}
	if msg := c.validate(&b.h.opts); msg != "" {
		return c, 400, msg
	}
	return c, 0, ""
}

// writeOutputs puts every input file's .out (with the lines processed so far: all of them,
// or, for a stopped or timed-out job, those finished) and manifest.json.out.
func (b *batchJobs) writeOutputs(ctx context.Context, j *batchJob) error {
	for i := range j.files {
		f := &j.files[i]
		if err := b.store.Put(ctx, j.outBucket, j.outPrefix+f.outName, f.out); err != nil {
			return err
		}
	}
	m, _ := json.Marshal(struct {
		Total      int   `json:"totalRecordCount"`
		Processed  int   `json:"processedRecordCount"`
		Success    int64 `json:"successRecordCount"`
		Error      int64 `json:"errorRecordCount"`
		InputToks  int64 `json:"inputTokenCount"`
		OutputToks int64 `json:"outputTokenCount"`
	}{len(j.records), j.done, j.ok, j.errs, j.inTokens, j.outTokens})
	return b.store.Put(ctx, j.outBucket, j.outPrefix+batchManifestName, m)
}
