package batchinfer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
	"github.com/bedrock-batch/bedrock-batch/s3store"
	"github.com/bedrock-batch/bedrock-batch/s3store/s3test"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// emulated starts the emulator's batch control plane over a fresh MinIO bucket, and returns
// a real service/bedrock client for it and the staging prefix of the bucket.
func emulated(t *testing.T, batch batchjobs.Options, models ...string) (*bedrocktest.Server, *bedrock.Client, storage.Dir) {
	t.Helper()
	endpoint, _, _ := s3test.Endpoint(t)
	client := s3test.Client(t)
	bucket := s3test.NewBucket(t, client)
	srv := bedrocktest.NewServer(bedrocktest.Options{
		Models:     models,
		BatchStore: batchjobs.NewS3ObjectStore(client),
		Batch:      batch,
	})
	t.Cleanup(srv.Close)
	control := bedrock.New(bedrock.Options{
		BaseEndpoint: aws.String(srv.URL),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:      aws.NopRetryer{},
	})
	stage, err := s3store.New(s3test.Config(t), s3store.Options{Endpoint: endpoint}).Dir(context.Background(), "s3://"+bucket+"/staging/")
	if err != nil {
		t.Fatal(err)
	}
	return srv, control, stage
}

func TestEndToEnd(t *testing.T) {
	const nova = "amazon.nova-lite-v1:0"
	failed := map[string]int{"a0005": 429, "a0006": 400}
	srv, control, stage := emulated(t, batchjobs.Options{
		MinRecords: 3,
		FailRecord: func(id string) (int, string, bool) {
			code, ok := failed[id]
			return code, fmt.Sprintf("injected %d", code), ok
		},
		FailJob: func(name string) (string, bool) {
			return "injected job failure", strings.Contains(name, "part-00003")
		},
	}, modelA, nova)
	ctx := testCtx(t)
	cfg := Config{RunKey: "job-7/shard-1", RoleARN: testRole, MinRecords: 3, MaxRecords: 4,
		PollInterval: 5 * time.Millisecond, MaxPollInterval: 20 * time.Millisecond}

	s := NewStager(stage, cfg)
	for i := range 11 { // modelA: parts of 4, 4 and 3
		if err := s.Add(ctx, fmt.Sprintf("a%04d", i), modelA, input(fmt.Sprint("question ", i))); err != nil {
			t.Fatal(err)
		}
		if i < 2 { // nova: one part of 2, on demand
			if err := s.Add(ctx, fmt.Sprintf("n%04d", i), nova, input("hello")); err != nil {
				t.Fatal(err)
			}
		}
	}
	parts, err := s.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 4 || parts[2].Records != 3 || parts[2].OnDemand || !parts[3].OnDemand {
		t.Fatalf("parts %+v: want 4, 4, 3 records of %s and 2 on demand of %s", parts, modelA, nova)
	}

	jobs := NewJobs(control, stage, cfg)
	for i := range parts[:3] {
		if err := jobs.Submit(ctx, &parts[i]); err != nil {
			t.Fatal(err)
		}
	}
	// A crash lost the first ARN: submitting the part again returns the same job.
	lost := parts[0]
	lost.JobARN, lost.Status = "", ""
	if err := jobs.Submit(ctx, &lost); err != nil || lost.JobARN != parts[0].JobARN {
		t.Fatalf("resubmission: %v, ARN %s, want %s", err, lost.JobARN, parts[0].JobARN)
	}
	if st := srv.Handler().BatchStats(); st.JobsCreated != 3 || st.IdempotentRepeats != 1 {
		t.Errorf("emulator made %d jobs and %d repeats, want 3 and 1", st.JobsCreated, st.IdempotentRepeats)
	}

	state := &State{RunKey: cfg.RunKey, Parts: parts}
	for i := range parts[:3] {
		if err := jobs.Wait(ctx, &parts[i], func(*Part) error {
			_, err := state.Marshal()
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	wantStatus := []string{StatusCompleted, StatusPartiallyCompleted, StatusFailed}
	for i, want := range wantStatus {
		if parts[i].Status != want {
			t.Errorf("part %d: %s %q, want %s", i, parts[i].Status, parts[i].Message, want)
		}
	}
	if parts[2].Message != "injected job failure" {
		t.Errorf("failed job's message %q", parts[2].Message)
	}

	outputs := map[string]Output{}
	for i := range parts[:3] {
		err := jobs.Outputs(ctx, &parts[i], func(o Output) error {
			outputs[o.RecordID] = o
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(outputs) != 8 {
		t.Errorf("%d outputs, want the 8 records of the two jobs that ran", len(outputs))
	}
	for i := range 8 {
		id := fmt.Sprintf("a%04d", i)
		o, ok := outputs[id]
		switch code := failed[id]; {
		case !ok:
			t.Errorf("no output for %s", id)
		case code != 0:
			if o.OK || o.ErrorCode != code || o.Retryable() != (code == 429) || o.ErrorMessage != fmt.Sprintf("injected %d", code) {
				t.Errorf("%s: %+v, want error %d", id, o, code)
			}
		case !o.OK || o.Text == "" || o.StopReason == "" || o.Usage.InputTokens == 0 || o.Usage.TotalTokens == 0:
			t.Errorf("%s: %+v, want a model output with text and usage", id, o)
		case !strings.Contains(string(o.ModelInput), fmt.Sprint("question ", i)):
			t.Errorf("%s: modelInput %s", id, o.ModelInput)
		}
	}

	// The failed job's records come back from its input, to be sent on demand.
	var again []string
	if err := jobs.Inputs(ctx, &parts[2], func(id string, _ json.RawMessage) error { again = append(again, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(again, ",") != "a0008,a0009,a0010" {
		t.Errorf("inputs of the failed part: %v", again)
	}

	// Stopping a finished job is not an error.
	if err := jobs.Stop(ctx, &lost); err != nil || lost.Status != StatusCompleted {
		t.Errorf("Stop of a completed job: %v, status %q", err, lost.Status)
	}

	data, err := state.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalState(data)
	if err != nil || len(back.Parts) != 4 || back.Parts[1].JobARN != parts[1].JobARN {
		t.Errorf("state round trip: %v, %+v", err, back)
	}

	// A re-run that lost its state stages new parts after the old ones: new names, so new
	// tokens, never the old jobs.
	rerun := NewStager(stage, cfg)
	if err := rerun.Add(ctx, "a0000", modelA, input("question 0")); err != nil {
		t.Fatal(err)
	}
	reparts, err := rerun.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := partName(cfg.RunKey, modelA, 4); len(reparts) != 1 || reparts[0].Name != want {
		t.Errorf("re-run staged %+v, want %s", reparts, want)
	}
}

func TestEndToEndStop(t *testing.T) {
	_, control, staging := emulated(t, batchjobs.Options{MinRecords: 1, ValidateAfter: time.Hour}, modelA)
	ctx := testCtx(t)
	cfg := Config{RunKey: "stop", RoleARN: testRole, MinRecords: 1, PollInterval: 5 * time.Millisecond}
	parts := stage(t, staging, cfg, modelA, 3)
	jobs := NewJobs(control, staging, cfg)
	p := &parts[0]
	if err := jobs.Submit(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Refresh(ctx, p); err != nil || p.Status != StatusSubmitted {
		t.Fatalf("Refresh: %v, status %q", err, p.Status)
	}
	if err := jobs.Stop(ctx, p); err != nil || p.Status != StatusStopping {
		t.Fatalf("Stop: %v, status %q", err, p.Status)
	}
	if err := jobs.Wait(ctx, p, nil); err != nil || p.Status != StatusStopped {
		t.Fatalf("Wait: %v, status %q", err, p.Status)
	}
	n := 0
	if err := jobs.Outputs(ctx, p, func(Output) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("Outputs of a job stopped before it ran: %v, %d outputs", err, n)
	}
}
