package batchjobs_test

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	btypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
)

// A job of 150 records completes with one output line per record, in input order, whose text
// and usage are what on-demand Converse answers for the same modelInput; on either store.
func TestBatchJobCompletes(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newBatchEnvOn(t, kind, bedrocktest.Options{Batch: batchjobs.Options{RecordsPerSecond: 10000}})
			recs := makeRecords("R", 150)
			input := jsonl(recs)
			e.put(t, "in/records.jsonl", input)

			arn := e.create(t, e.jobInput("complete-1", "in/records.jsonl"))
			if !regexp.MustCompile(`^arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/[a-z0-9]{12}$`).MatchString(arn) {
				t.Fatalf("job ARN %q does not have the API's shape", arn)
			}
			j := e.wait(t, arn)
			if j.Status != btypes.ModelInvocationJobStatusCompleted {
				t.Fatalf("status %s (%s), want Completed", j.Status, aws.ToString(j.Message))
			}
			if got := [4]int64{aws.ToInt64(j.TotalRecordCount), aws.ToInt64(j.ProcessedRecordCount), aws.ToInt64(j.SuccessRecordCount), aws.ToInt64(j.ErrorRecordCount)}; got != [4]int64{150, 150, 150, 0} {
				t.Errorf("total, processed, success, error counts = %v", got)
			}
			if j.EndTime == nil || j.SubmitTime == nil || j.JobExpirationTime == nil || aws.ToString(j.JobName) != "complete-1" ||
				j.ModelInvocationType != btypes.ModelInvocationTypeConverse || aws.ToString(j.ModelId) != testModel {
				t.Errorf("job description incomplete: %+v", j)
			}
			if in, ok := j.InputDataConfig.(*btypes.ModelInvocationJobInputDataConfigMemberS3InputDataConfig); !ok || aws.ToString(in.Value.S3Uri) != e.uri("in/records.jsonl") {
				t.Errorf("inputDataConfig = %#v", j.InputDataConfig)
			}

			id := jobID(arn)
			lines := e.outputLines(t, "out/"+id+"/records.jsonl.out")
			if len(lines) != len(recs) {
				t.Fatalf("%d output lines, want %d", len(lines), len(recs))
			}
			var inTokens, outTokens int64
			inputLines := bytes.Split(bytes.TrimSpace(input), []byte{'\n'})
			for i, l := range lines {
				r := recs[i]
				if l.RecordID != r.id || l.ModelOutput == nil || l.Error != nil {
					t.Fatalf("line %d: record %q, output %v, error %v; want %q with a modelOutput", i, l.RecordID, l.ModelOutput != nil, l.Error, r.id)
				}
				if !bytes.Contains(inputLines[i], l.ModelInput) {
					t.Errorf("line %d: modelInput %s is not the input's as given", i, l.ModelInput)
				}
				want, err := e.runtime.Converse(testCtx(t), r.converseInput())
				if err != nil {
					t.Fatal(err)
				}
				mo := l.ModelOutput
				if text := mo.Output.Message.Content[0].Text; text != outputText(t, want) || mo.Output.Message.Role != "assistant" {
					t.Errorf("record %s: text %q, on-demand %q", r.id, text, outputText(t, want))
				}
				if u := want.Usage; mo.Usage.InputTokens != aws.ToInt32(u.InputTokens) || mo.Usage.OutputTokens != aws.ToInt32(u.OutputTokens) ||
					mo.Usage.TotalTokens != aws.ToInt32(u.TotalTokens) || mo.StopReason != string(want.StopReason) {
					t.Errorf("record %s: usage %+v stop %s, on-demand %+v stop %s", r.id, mo.Usage, mo.StopReason,
						[3]int32{aws.ToInt32(u.InputTokens), aws.ToInt32(u.OutputTokens), aws.ToInt32(u.TotalTokens)}, want.StopReason)
				}
				inTokens += int64(mo.Usage.InputTokens)
				outTokens += int64(mo.Usage.OutputTokens)
			}
			if m := e.manifest(t, id); m != (manifest{150, 150, 150, 0, inTokens, outTokens}) {
				t.Errorf("manifest = %+v, want 150 records all ok and tokens %d/%d", m, inTokens, outTokens)
			}

			st := e.srv.BatchStats()
			want := batchjobs.Stats{JobsCreated: 1, RecordsProcessed: 150, RecordsOK: 150, InputTokens: inTokens, OutputTokens: outTokens,
				Statuses: batchjobs.StatusCounts{Completed: 1}}
			if st != want {
				t.Errorf("BatchStats = %+v, want %+v", st, want)
			}
			if jobs := e.srv.BatchJobs(); len(jobs) != 1 || jobs[0].ARN != arn || jobs[0].Status != "Completed" || jobs[0].Records != 150 || jobs[0].OK != 150 {
				t.Errorf("BatchJobs = %+v", jobs)
			}
			if s := e.srv.Stats(); s.Requests != 150 || s.OK != 150 {
				t.Errorf("runtime Stats %+v: the control plane must not count there", s)
			}
		})
	}
}

// Chosen records fail: the job is PartiallyCompleted and those lines carry an error object.
func TestBatchRecordErrors(t *testing.T) {
	failing := map[string]bool{"R00003": true, "R00050": true, "R00149": true}
	e := newBatchEnv(t, bedrocktest.Options{Batch: batchjobs.Options{
		FailRecord: func(id string) (int, string, bool) {
			return 429, "Too many requests (test)", failing[id]
		},
		MaxMalformedLines: 1,
	}})
	recs := makeRecords("R", 150)
	recs[10].prompt = "please " + bedrocktest.InvalidMarker                                          // fails validation, as on demand
	recs[20].extra = `,"toolConfig":{"tools":[{"toolSpec":{"name":"t","inputSchema":{"json":{}}}}]}` // Converse batch refuses tools
	// One line without a recordId (Bedrock makes one up) and one malformed line, tolerated.
	input := append(jsonl(recs), `{"modelInput":{"messages":[{"role":"user","content":[{"text":"no id"}]}]}}`+"\n"+`{"recordId":"BAD","modelInput":[1]}`+"\n"...)
	e.put(t, "in/r.jsonl", input)

	arn := e.create(t, e.jobInput("errors", "in/r.jsonl"))
	j := e.wait(t, arn)
	if j.Status != btypes.ModelInvocationJobStatusPartiallyCompleted || aws.ToInt64(j.ErrorRecordCount) != 6 || aws.ToInt64(j.SuccessRecordCount) != 146 {
		t.Fatalf("status %s, %d ok, %d errors; want PartiallyCompleted, 146, 6", j.Status, aws.ToInt64(j.SuccessRecordCount), aws.ToInt64(j.ErrorRecordCount))
	}
	lines := e.outputLines(t, "out/"+jobID(arn)+"/r.jsonl.out")
	if len(lines) != 152 {
		t.Fatalf("%d lines", len(lines))
	}
	if l := lines[150]; len(l.RecordID) != 11 || l.ModelOutput == nil {
		t.Errorf("record without an id: id %q, answered %v", l.RecordID, l.ModelOutput != nil)
	}
	if l := lines[151]; l.RecordID != "BAD" || l.Error == nil || l.Error.ErrorCode != 400 || l.ModelInput != nil {
		t.Errorf("malformed line: %+v", l)
	}
	for i, l := range lines[:150] {
		var wantCode int
		switch {
		case failing[l.RecordID]:
			wantCode = 429
		case i == 10 || i == 20:
			wantCode = 400
		}
		switch {
		case l.RecordID != recs[i].id:
			t.Errorf("line %d is record %s, want %s", i, l.RecordID, recs[i].id)
		case wantCode == 0 && (l.Error != nil || l.ModelOutput == nil):
			t.Errorf("record %s: error %+v, want a modelOutput", l.RecordID, l.Error)
		case wantCode != 0 && (l.Error == nil || l.ModelOutput != nil || l.Error.ErrorCode != wantCode || l.Error.ErrorMessage == ""):
			t.Errorf("record %s: error %+v, modelOutput %v; want errorCode %d alone", l.RecordID, l.Error, l.ModelOutput != nil, wantCode)
		}
	}
	if m := e.manifest(t, jobID(arn)); m.TotalRecordCount != 152 || m.ProcessedRecordCount != 152 || m.SuccessRecordCount != 146 || m.ErrorRecordCount != 6 {
		t.Errorf("manifest = %+v", m)
	}
	if st := e.srv.BatchStats(); st.RecordsFailed != 6 || st.RecordsOK != 146 || st.Statuses.PartiallyCompleted != 1 {
		t.Errorf("BatchStats = %+v", st)
	}
}

// FailJob fails a job when its validation ends, with its message and no output; too many
// malformed lines fail a job the same way; and a job whose outputs cannot be written fails
// when it ends.
func TestBatchJobFails(t *testing.T) {
	e := newBatchEnv(t, bedrocktest.Options{Batch: batchjobs.Options{
		FailJob: func(name string) (string, bool) {
			return "Injected failure for " + name, strings.HasPrefix(name, "doomed")
		},
	}})
	e.put(t, "in/ok.jsonl", jsonl(makeRecords("R", 120)))
	bad := append(jsonl(makeRecords("R", 120)), "{not json\n"...)
	e.put(t, "in/bad.jsonl", bad)

	for _, tt := range []struct{ name, input, output, message string }{
		{"doomed-1", "in/ok.jsonl", "", "Injected failure for doomed-1"},
		{"malformed", "in/bad.jsonl", "", "Line 121 of in/bad.jsonl"},
		{"no-output-bucket", "in/ok.jsonl", "s3://no-such-bucket/out/", "could not write the job's output"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := e.jobInput(tt.name, tt.input)
			if tt.output != "" {
				in.OutputDataConfig = &btypes.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig{
					Value: btypes.ModelInvocationJobS3OutputDataConfig{S3Uri: aws.String(tt.output)}}
			}
			arn := e.create(t, in)
			j := e.wait(t, arn)
			if j.Status != btypes.ModelInvocationJobStatusFailed || !strings.Contains(aws.ToString(j.Message), tt.message) || j.EndTime == nil {
				t.Errorf("status %s message %q, want Failed with %q", j.Status, aws.ToString(j.Message), tt.message)
			}
			keys, err := e.store.List(testCtx(t), e.bucket, "out/"+jobID(arn)+"/")
			if err != nil || len(keys) != 0 {
				t.Errorf("a failed job wrote %v (%v)", keys, err)
			}
		})
	}
}

// Record counts, missing input and bad parameters are refused at CreateModelInvocationJob.
func TestBatchCreateRefused(t *testing.T) {
	e := newBatchEnv(t, bedrocktest.Options{Models: []string{testModel}, Batch: batchjobs.Options{MaxRecords: 200, MaxInputFileBytes: 64 << 10}})
	e.put(t, "in/99.jsonl", jsonl(makeRecords("R", 99)))
	e.put(t, "in/201.jsonl", jsonl(makeRecords("R", 201)))
	e.put(t, "in/150.jsonl", jsonl(makeRecords("R", 150)))
	e.put(t, "in/150.txt", jsonl(makeRecords("R", 150)))
	e.put(t, "big/big.jsonl", jsonl(makeRecords(strings.Repeat("x", 600), 101)))

	tests := []struct {
		name    string
		edit    func(*bedrock.CreateModelInvocationJobInput)
		apiErr  string // error code
		message []string
	}{
		{"below min", func(in *bedrock.CreateModelInvocationJobInput) { setInput(in, e.uri("in/99.jsonl")) },
			"ValidationException", []string{"99 records", "minimum of 100"}},
		{"above max", func(in *bedrock.CreateModelInvocationJobInput) { setInput(in, e.uri("in/201.jsonl")) },
			"ValidationException", []string{"201 records", "maximum of 200"}},
		{"prefix above max", func(in *bedrock.CreateModelInvocationJobInput) { setInput(in, e.uri("in/")) },
			"ValidationException", []string{"450 records", "maximum of 200"}},
		{"missing input", func(in *bedrock.CreateModelInvocationJobInput) { setInput(in, e.uri("nothing/here.jsonl")) },
			"ValidationException", []string{"No input was found"}},
		{"not jsonl", func(in *bedrock.CreateModelInvocationJobInput) { setInput(in, e.uri("in/150.txt")) },
			"ValidationException", []string{".jsonl"}},
		{"file too big", func(in *bedrock.CreateModelInvocationJobInput) { setInput(in, e.uri("big/big.jsonl")) },
			"ValidationException", []string{"maximum of 65536 bytes per input file"}},
		{"invoke model type", func(in *bedrock.CreateModelInvocationJobInput) {
			in.ModelInvocationType = btypes.ModelInvocationTypeInvokeModel
		},
			"ValidationException", []string{"Converse"}},
		{"no invocation type", func(in *bedrock.CreateModelInvocationJobInput) { in.ModelInvocationType = "" },
			"ValidationException", []string{"Converse"}},
		{"bad job name", func(in *bedrock.CreateModelInvocationJobInput) { in.JobName = aws.String("no spaces allowed") },
			"ValidationException", []string{"jobName"}},
		{"short timeout", func(in *bedrock.CreateModelInvocationJobInput) { in.TimeoutDurationInHours = aws.Int32(2) },
			"ValidationException", []string{"between 24 and 168"}},
		{"unknown model", func(in *bedrock.CreateModelInvocationJobInput) { in.ModelId = aws.String("no.such-model-v1:0") },
			"ResourceNotFoundException", []string{"model identifier"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := e.jobInput("refused", "in/150.jsonl")
			tt.edit(in)
			_, err := e.bedrock.CreateModelInvocationJob(testCtx(t), in)
			checkAPIError(t, err, tt.apiErr, tt.message...)
		})
	}
	if st := e.srv.BatchStats(); st.JobsCreated != 0 || st.JobsRejected != int64(len(tests)) {
		t.Errorf("BatchStats = %+v, want %d rejected and none created", st, len(tests))
	}
	// The same request within the quotas is accepted.
	e.create(t, e.jobInput("accepted", "in/150.jsonl"))
}

func setInput(in *bedrock.CreateModelInvocationJobInput, uri string) {
	in.InputDataConfig = &btypes.ModelInvocationJobInputDataConfigMemberS3InputDataConfig{
		Value: btypes.ModelInvocationJobS3InputDataConfig{S3Uri: aws.String(uri)},
	}
}

// checkAPIError wants err to be the typed error named code, with every part in its message.
func checkAPIError(t *testing.T, err error, code string, parts ...string) {
	t.Helper()
	var target interface {
		ErrorCode() string
		ErrorMessage() string
	}
	switch code {
	case "ValidationException":
		var e *btypes.ValidationException
		if errors.As(err, &e) {
			target = e
		}
	case "ResourceNotFoundException":
		var e *btypes.ResourceNotFoundException
		if errors.As(err, &e) {
			target = e
		}
	case "ConflictException":
		var e *btypes.ConflictException
		if errors.As(err, &e) {
			target = e
		}
	case "ServiceQuotaExceededException":
		var e *btypes.ServiceQuotaExceededException
		if errors.As(err, &e) {
			target = e
		}
	}
	if target == nil {
		t.Fatalf("error %v, want a %s", err, code)
	}
	for _, p := range parts {
		if !strings.Contains(target.ErrorMessage(), p) {
			t.Errorf("%s message %q does not contain %q", code, target.ErrorMessage(), p)
		}
	}
}

// The same clientRequestToken with the same parameters returns the same job; with other
// parameters it is a conflict.
func TestBatchIdempotency(t *testing.T) {
	e := newBatchEnv(t, bedrocktest.Options{})
	e.put(t, "in/a.jsonl", jsonl(makeRecords("A", 100)))
	in := e.jobInput("idem", "in/a.jsonl")
	in.ClientRequestToken = aws.String("token-1")
	first := e.create(t, in)
	second := e.create(t, in)
	if first != second {
		t.Errorf("same token gave %s then %s", first, second)
	}
	other := e.jobInput("idem-other", "in/a.jsonl")
	other.ClientRequestToken = aws.String("token-1")
	_, err := e.bedrock.CreateModelInvocationJob(testCtx(t), other)
	checkAPIError(t, err, "ConflictException", "clientRequestToken")

	third := e.create(t, e.jobInput("idem", "in/a.jsonl")) // the SDK fills in a fresh token
	if third == first {
		t.Error("a new token returned the old job")
	}
	if j := e.job(t, first); aws.ToString(j.ClientRequestToken) != "token-1" {
		t.Errorf("clientRequestToken %q", aws.ToString(j.ClientRequestToken))
	}
	st := e.srv.BatchStats()
	if st.JobsCreated != 2 || st.IdempotentRepeats != 1 || len(e.srv.BatchJobs()) != 2 {
		t.Errorf("BatchStats = %+v and %d jobs, want 2 created, 1 repeat", st, len(e.srv.BatchJobs()))
	}
}

// Several input files under a prefix, at any depth, each get their own .out, and the manifest
// sums them; on either store.
func TestBatchMultipleFiles(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newBatchEnvOn(t, kind, bedrocktest.Options{Batch: batchjobs.Options{RecordsPerSecond: 10000}})
			files := map[string][]testRecord{
				"in/a.jsonl":     makeRecords("A", 60),
				"in/b.jsonl":     makeRecords("B", 50),
				"in/sub/c.jsonl": makeRecords("C", 40),
			}
			for key, recs := range files {
				e.put(t, key, jsonl(recs))
			}
			e.put(t, "in/notes.txt", []byte("not an input"))
			arn := e.create(t, e.jobInput("multi", "in"))
			if j := e.wait(t, arn); j.Status != btypes.ModelInvocationJobStatusCompleted || aws.ToInt64(j.TotalRecordCount) != 150 {
				t.Fatalf("status %s, %d records", j.Status, aws.ToInt64(j.TotalRecordCount))
			}
			id := jobID(arn)
			keys, err := e.store.List(testCtx(t), e.bucket, "out/"+id+"/")
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"a.jsonl.out", "b.jsonl.out", "manifest.json.out", "sub/c.jsonl.out"}
			for i := range want {
				want[i] = "out/" + id + "/" + want[i]
			}
			if !slices.Equal(keys, want) {
				t.Errorf("outputs %v, want %v", keys, want)
			}
			for key, recs := range files {
				lines := e.outputLines(t, "out/"+id+"/"+strings.TrimPrefix(key, "in/")+".out")
				if len(lines) != len(recs) {
					t.Errorf("%s: %d lines, want %d", key, len(lines), len(recs))
					continue
				}
				for i, l := range lines {
					if l.RecordID != recs[i].id || l.ModelOutput == nil {
						t.Errorf("%s line %d: %s, want %s answered", key, i, l.RecordID, recs[i].id)
					}
				}
			}
			if m := e.manifest(t, id); m.TotalRecordCount != 150 || m.SuccessRecordCount != 150 || m.ErrorRecordCount != 0 || m.InputTokenCount == 0 {
				t.Errorf("manifest = %+v", m)
			}
		})
	}
}
