package batchinfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

const testRole = "arn:aws:iam::123456789012:role/BatchInference"

// stage stages n records of model and returns its parts.
func stage(t *testing.T, store storage.Dir, cfg Config, model string, n int) []Part {
	t.Helper()
	ctx := testCtx(t)
	s := NewStager(store, cfg)
	for i := range n {
		if err := s.Add(ctx, fmt.Sprintf("rec%04d", i), model, input(fmt.Sprint("prompt ", i))); err != nil {
			t.Fatal(err)
		}
	}
	parts, err := s.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return parts
}

func TestSubmit(t *testing.T) {
	ctx := testCtx(t)
	store, control := newMemStore(), newFakeControl()
	cfg := Config{RunKey: "job-1/shard-0", RoleARN: testRole, MinRecords: 2, TimeoutHours: 72}
	parts := stage(t, store, cfg, modelB, 3)
	jobs := NewJobs(control, store, cfg)

	p := parts[0]
	if err := jobs.Submit(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if p.JobARN == "" || p.Status != StatusSubmitted {
		t.Fatalf("after Submit: ARN %q status %q", p.JobARN, p.Status)
	}
	in := control.creates[0]
	inCfg := in.InputDataConfig.(*types.ModelInvocationJobInputDataConfigMemberS3InputDataConfig).Value
	outCfg := in.OutputDataConfig.(*types.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig).Value
	checks := []struct{ what, got, want string }{
		{"model", aws.ToString(in.ModelId), modelB},
		{"role", aws.ToString(in.RoleArn), testRole},
		{"input", aws.ToString(inCfg.S3Uri), store.URI(p.Name)},
		{"input format", string(inCfg.S3InputFormat), "JSONL"},
		{"output", aws.ToString(outCfg.S3Uri), store.URI("out/" + strings.TrimSuffix(p.Name, ".jsonl") + "/")},
		{"type", string(in.ModelInvocationType), "Converse"},
		{"timeout", fmt.Sprint(aws.ToInt32(in.TimeoutDurationInHours)), "72"},
		{"name", aws.ToString(in.JobName), JobName(cfg.RunKey, &p)},
		{"token", aws.ToString(in.ClientRequestToken), ClientRequestToken(cfg.RunKey, &p)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.what, c.got, c.want)
		}
	}

	// The same part again: nothing to do.
	if err := jobs.Submit(ctx, &p); err != nil || len(control.creates) != 1 {
		t.Errorf("second Submit: %v, %d CreateModelInvocationJob calls; want none more", err, len(control.creates))
	}

	// A crash lost the ARN: the part as staged, submitted again by a new process, gets the
	// same job back.
	lost := parts[0]
	if err := NewJobs(control, store, cfg).Submit(ctx, &lost); err != nil {
		t.Fatal(err)
	}
	if lost.JobARN != p.JobARN || len(control.jobs) != 1 {
		t.Errorf("resubmission made job %s (%d jobs), want %s (1 job)", lost.JobARN, len(control.jobs), p.JobARN)
	}
}

func TestSubmitRefuses(t *testing.T) {
	ctx := testCtx(t)
	store := newMemStore()
	part := Part{Model: modelA, Name: "r/m/part-00001.jsonl", Records: 200}
	tests := []struct {
		name    string
		cfg     Config
		part    Part
		failErr error
		want    string
		quota   bool
	}{
		{"on demand", Config{RunKey: "r", RoleARN: testRole}, Part{Model: modelA, Name: "r/m/part-00002.jsonl", Records: 3, OnDemand: true}, nil, "on-demand part", false},
		{"no role", Config{RunKey: "r"}, part, nil, "no RoleARN", false},
		{"bad config", Config{RoleARN: testRole}, part, nil, "no run key", false},
		{"quota", Config{RunKey: "r", RoleARN: testRole}, part, apiError("ServiceQuotaExceededException", "too many jobs"), "too many jobs", true},
		{"validation", Config{RunKey: "r", RoleARN: testRole}, part, apiError("ValidationException", "bad role"), "bad role", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			control := newFakeControl()
			control.failErr = tt.failErr
			p := tt.part
			err := NewJobs(control, store, tt.cfg).Submit(ctx, &p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Submit: %v, want an error about %q", err, tt.want)
			}
			if errors.Is(err, ErrJobQuota) != tt.quota {
				t.Errorf("errors.Is(err, ErrJobQuota) = %t, want %t", !tt.quota, tt.quota)
			}
			if p.JobARN != "" || p.Status != "" {
				t.Errorf("a refused part got ARN %q status %q", p.JobARN, p.Status)
			}
		})
	}
}

// submitted stages and submits one part, returning it and the fakes.
func submitted(t *testing.T) (*Jobs, *fakeControl, *memStore, Part) {
	t.Helper()
	store, control := newMemStore(), newFakeControl()
	cfg := Config{RunKey: "run", RoleARN: testRole, MinRecords: 1, PollInterval: time.Millisecond, MaxPollInterval: 4 * time.Millisecond}
	parts := stage(t, store, cfg, modelA, 3)
	jobs := NewJobs(control, store, cfg)
	p := parts[0]
	if err := jobs.Submit(testCtx(t), &p); err != nil {
		t.Fatal(err)
	}
	return jobs, control, store, p
}

func TestRefreshAndWait(t *testing.T) {
	ctx := testCtx(t)
	jobs, control, _, p := submitted(t)
	control.setStatuses(p.JobARN, "", StatusValidating)
	if err := jobs.Refresh(ctx, &p); err != nil || p.Status != StatusValidating {
		t.Fatalf("Refresh: %v, status %q", err, p.Status)
	}

	control.setStatuses(p.JobARN, "", StatusScheduled, StatusScheduled, StatusScheduled, StatusInProgress, StatusInProgress, StatusPartiallyCompleted)
	var seen []string
	err := jobs.Wait(ctx, &p, func(p *Part) error {
		seen = append(seen, p.Status)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{StatusScheduled, StatusInProgress, StatusPartiallyCompleted}; strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("changes seen %v, want %v", seen, want)
	}

	// An error from the callback ends the wait.
	control.setStatuses(p.JobARN, "the role cannot read", StatusFailed)
	stop := errors.New("cannot save state")
	if err := jobs.Wait(ctx, &p, func(*Part) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Wait: %v, want the callback's error", err)
	}
	if p.Status != StatusFailed || p.Message != "the role cannot read" {
		t.Errorf("status %q message %q", p.Status, p.Message)
	}

	// A job that never finishes: Wait ends with its context.
	control.setStatuses(p.JobARN, "", StatusInProgress)
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if err := jobs.Wait(short, &p, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait: %v, want the deadline", err)
	}
}

func TestStop(t *testing.T) {
	ctx := testCtx(t)
	jobs, control, _, p := submitted(t)
	if err := jobs.Stop(ctx, &p); err != nil || p.Status != StatusStopping {
		t.Fatalf("Stop: %v, status %q", err, p.Status)
	}

	// Finished meanwhile: Bedrock refuses, Stop says nothing and records the status.
	control.setStatuses(p.JobARN, "", StatusCompleted)
	if err := jobs.Stop(ctx, &p); err != nil || p.Status != StatusCompleted {
		t.Errorf("Stop of a finished job: %v, status %q; want nil, Completed", err, p.Status)
	}
	stops := control.stops
	if err := jobs.Stop(ctx, &p); err != nil || control.stops != stops {
		t.Errorf("Stop of a part known finished: %v, %d calls; want none", err, control.stops-stops)
	}

	// Any other failure is an error.
	p.Status = StatusInProgress
	control.failErr = apiError("AccessDeniedException", "no bedrock:StopModelInvocationJob")
	if err := jobs.Stop(ctx, &p); err == nil || !strings.Contains(err.Error(), "StopModelInvocationJob") {
		t.Errorf("Stop: %v, want the access error", err)
	}

	// Nothing submitted, nothing to stop.
	if err := jobs.Stop(ctx, &Part{Name: "x"}); err != nil {
		t.Errorf("Stop without a job: %v", err)
	}
}

func TestOutputsAndInputs(t *testing.T) {
	{
		{
			ctx := testCtx(t)
			jobs, _, mem, p := submitted(t)

			// Inputs gives the staged records back.
			var ids []string
			err := jobs.Inputs(ctx, &p, func(id string, modelInput json.RawMessage) error {
				ids = append(ids, id)
				if !strings.Contains(string(modelInput), "prompt") {
					t.Errorf("record %s: modelInput %s", id, modelInput)
				}
				return nil
			})
			if err != nil || strings.Join(ids, ",") != "rec0000,rec0001,rec0002" {
				t.Fatalf("Inputs: %v, ids %v", err, ids)
			}

			// No output file yet (a Failed job): no outputs.
			n := 0
			if err := jobs.Outputs(ctx, &p, func(Output) error { n++; return nil }); err != nil || n != 0 {
				t.Fatalf("Outputs without a file: %v, %d outputs", err, n)
			}

			id := p.JobARN[strings.LastIndexByte(p.JobARN, '/')+1:]
			out := "out/" + strings.TrimSuffix(p.Name, ".jsonl") + "/" + id + "/part-00001.jsonl.out"
			mem.put(out, []byte(`{"recordId":"rec0001","modelInput":{},"modelOutput":{"output":{"message":{"content":[{"text":"a"},{"text":"b"}]}},"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":2,"totalTokens":5}}}`+"\n"+
				`{"recordId":"rec0000","modelInput":{},"error":{"errorCode":429,"errorMessage":"slow down"}}`+"\n"))
			var got []Output
			if err := jobs.Outputs(ctx, &p, func(o Output) error { got = append(got, o); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].RecordID != "rec0001" || got[0].Text != "ab" || got[0].Usage.TotalTokens != 5 ||
				got[1].RecordID != "rec0000" || !got[1].Retryable() {
				t.Errorf("Outputs: %+v", got)
			}

			// A bad line is an error naming the file and the line.
			mem.put(out, []byte("{\"recordId\":\"rec0001\",\"error\":{\"errorCode\":400}}\n{\"modelOutput\":{}}\n"))
			err = jobs.Outputs(ctx, &p, func(Output) error { return nil })
			if err == nil || !strings.Contains(err.Error(), mem.URI(out)+" line 2") || !strings.Contains(err.Error(), "no recordId") {
				t.Errorf("Outputs of a bad file: %v", err)
			}

			// An error from fn stops the reading and is returned.
			stop := errors.New("sink full")
			if err := jobs.Outputs(ctx, &p, func(Output) error { return stop }); !errors.Is(err, stop) {
				t.Errorf("Outputs: %v, want fn's error", err)
			}
		}
	}
}

func TestOutputsNeedsJob(t *testing.T) {
	jobs := NewJobs(newFakeControl(), newMemStore(), Config{RunKey: "r"})
	if err := jobs.Outputs(testCtx(t), &Part{Name: "x"}, func(Output) error { return nil }); err == nil {
		t.Error("Outputs of a part never submitted succeeded")
	}
}
