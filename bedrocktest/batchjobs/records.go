package batchjobs

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
const manifestName = "manifest.json.out"

// inputFile is one input file and the output lines written for it so far.
type inputFile struct {
	key     string // the input object's key
	outName string // the output object's name under the job's prefix: the input's name + ".out"
	out     []byte
}

// record is one non-blank input line: {"recordId": "...", "modelInput": {...}}.
type record struct {
	file      int
	id        string          // recordId as given, or one made up (Bedrock adds one when it is missing)
	input     json.RawMessage // modelInput exactly as given
	malformed string          // why the line is not such an object, or ""
}

// parseRecords splits a job's input files into records. Blank lines are not records.
func parseRecords(jobID string, files []inputFile, data [][]byte) (records []record, malformed int) {
	for fi, d := range data {
		for n := 1; len(d) > 0; n++ {
			var line []byte
			line, d, _ = bytes.Cut(d, []byte{'\n'})
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			r := record{file: fi}
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
	sum := fnv1a(jobID + "/" + strconv.Itoa(i))
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var id [11]byte
	for k := range id {
		id[k] = digits[sum%36]
		sum /= 36
	}
	return string(id[:])
}

// process answers the job's records up to target (exclusive), in input order.
func (s *Service) process(j *job, target int) {
	for ; j.done < target; j.done++ {
		r := &j.records[j.done]
		f := &j.files[r.file]
		var u Usage
		var ok bool
		f.out, u, ok = s.appendRecord(f.out, j.spec.modelID, r)
		s.stats.processed.Add(1)
		if ok {
			j.ok++
			j.inTokens += u.InputTokens
			j.outTokens += u.OutputTokens
			s.stats.ok.Add(1)
			s.stats.inputTokens.Add(u.InputTokens)
			s.stats.outputTokens.Add(u.OutputTokens)
		} else {
			j.errs++
			s.stats.errors.Add(1)
		}
	}
}

// appendRecord appends the output line of one record and reports whether it was answered,
// with what it used. A record fails, with an error object instead of a modelOutput, when
// check says so or the Runtime refuses its modelInput (errorCode 400, the message an on-demand
// call would get); otherwise the Runtime's Converse answer is its modelOutput.
func (s *Service) appendRecord(dst []byte, modelID string, r *record) ([]byte, Usage, bool) {
	dst = append(dst, `{"recordId":`...)
	dst = jsonenc.AppendString(dst, r.id)
	if r.input != nil {
		dst = append(dst, `,"modelInput":`...)
		dst = append(dst, r.input...)
	}
	code, msg := s.check(r)
	if code == 0 {
		line := append(dst, `,"modelOutput":`...)
		line, u, err := s.runtime.AppendConverse(line, modelID, r.input, s.opts.recordLatencyMs())
		if err == nil {
			return append(line, "}\n"...), u, true
		}
		code, msg = 400, err.Error() // dst is still the line up to the modelInput
	}
	dst = append(dst, `,"error":{"errorCode":`...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, `,"errorMessage":`...)
	dst = jsonenc.AppendString(dst, msg)
	return append(dst, "}}\n"...), Usage{}, false
}

// check returns the errorCode and errorMessage of a record that fails before the Runtime sees
// it, or code 0: a malformed line, Options.FailRecord, and the batch rules.
func (s *Service) check(r *record) (code int, msg string) {
	if r.malformed != "" {
		return 400, r.malformed
	}
	if s.opts.FailRecord != nil {
		if code, msg, fail := s.opts.FailRecord(r.id); fail {
			return code, msg
		}
	}
	// The user guide: "Batch inference doesn't support tool calling (function calling) for
	// jobs that use the Converse invocation type. Records that include toolConfig fail with a
	// 400 error." (A toolConfig that is not even an object fails here too, not in the Runtime.)
	var tools struct {
		ToolConfig json.RawMessage `json:"toolConfig"`
	}
	if json.Unmarshal(r.input, &tools) == nil && len(tools.ToolConfig) > 0 && string(tools.ToolConfig) != "null" {
		return 400, "Batch inference with the Converse invocation type does not support toolConfig."
	}
	return 0, ""
}

// writeOutputs puts every input file's .out (with the lines processed so far: all of them,
// or, for a stopped or timed-out job, those finished) and manifest.json.out.
func (s *Service) writeOutputs(ctx context.Context, j *job) error {
	ctx = withAccess(ctx, Access{Owner: j.spec.outOwner, KMSKeyID: j.spec.outKeyID})
	for i := range j.files {
		f := &j.files[i]
		if err := s.store.Put(ctx, j.outBucket, j.outPrefix+f.outName, f.out); err != nil {
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
	return s.store.Put(ctx, j.outBucket, j.outPrefix+manifestName, m)
}
