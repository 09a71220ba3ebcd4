package batchjobs_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	btypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
)

// Stopping a job mid-way keeps the lines of the records it finished; a finished job cannot be
// stopped.
func TestBatchStop(t *testing.T) {
	clock := newFakeClock()
	e := newBatchEnv(t, bedrocktest.Options{Batch: batchjobs.Options{RecordsPerSecond: 10, Clock: clock.Now}})
	recs := makeRecords("S", 150)
	e.put(t, "in/s.jsonl", jsonl(recs))
	arn := e.create(t, e.jobInput("stopme", "in/s.jsonl"))

	clock.Add(5 * time.Second)
	if j := e.job(t, arn); j.Status != btypes.ModelInvocationJobStatusInProgress || aws.ToInt64(j.ProcessedRecordCount) != 50 {
		t.Fatalf("status %s with %d processed, want InProgress with 50", j.Status, aws.ToInt64(j.ProcessedRecordCount))
	}
	if _, err := e.bedrock.StopModelInvocationJob(testCtx(t), &bedrock.StopModelInvocationJobInput{JobIdentifier: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute) // time passes, but a stopping job processes nothing more
	j := e.wait(t, arn)
	if j.Status != btypes.ModelInvocationJobStatusStopped || aws.ToInt64(j.ProcessedRecordCount) != 50 {
		t.Fatalf("status %s with %d processed, want Stopped with 50", j.Status, aws.ToInt64(j.ProcessedRecordCount))
	}
	lines := e.outputLines(t, "out/"+jobID(arn)+"/s.jsonl.out")
	if len(lines) != 50 || lines[0].RecordID != "S00000" || lines[49].RecordID != "S00049" {
		t.Errorf("%d lines, want the first 50 records", len(lines))
	}
	if m := e.manifest(t, jobID(arn)); m.TotalRecordCount != 150 || m.ProcessedRecordCount != 50 || m.SuccessRecordCount != 50 {
		t.Errorf("manifest = %+v", m)
	}
	_, err := e.bedrock.StopModelInvocationJob(testCtx(t), &bedrock.StopModelInvocationJobInput{JobIdentifier: aws.String(jobID(arn))})
	checkAPIError(t, err, "ConflictException", "Stopped")
	if st := e.srv.BatchStats(); st.Statuses.Stopped != 1 || st.RecordsProcessed != 50 {
		t.Errorf("BatchStats = %+v", st)
	}
}

// A job walks through its statuses on the clock; List filters by name and status; a job
// that cannot start before its timeout expires, and one that cannot finish ends
// PartiallyCompleted.
func TestBatchLifecycle(t *testing.T) {
	clock := newFakeClock()
	e := newBatchEnv(t, bedrocktest.Options{Batch: batchjobs.Options{
		ValidateAfter: time.Minute, ScheduleAfter: time.Minute, StartAfter: time.Minute,
		RecordsPerSecond: 1, MaxActiveJobs: 3, Clock: clock.Now,
	}})
	e.put(t, "in/l.jsonl", jsonl(makeRecords("L", 100)))
	arn := e.create(t, e.jobInput("walk", "in/l.jsonl"))
	for _, step := range []struct {
		after     time.Duration
		status    btypes.ModelInvocationJobStatus
		processed int64
	}{
		{0, btypes.ModelInvocationJobStatusSubmitted, 0},
		{time.Minute, btypes.ModelInvocationJobStatusValidating, 0},
		{time.Minute, btypes.ModelInvocationJobStatusScheduled, 0},
		{time.Minute + 30*time.Second, btypes.ModelInvocationJobStatusInProgress, 30},
		{70 * time.Second, btypes.ModelInvocationJobStatusCompleted, 100},
	} {
		clock.Add(step.after)
		j := e.job(t, jobID(arn)) // by id, not ARN
		if j.Status != step.status || aws.ToInt64(j.ProcessedRecordCount) != step.processed {
			t.Fatalf("after %s: %s with %d processed, want %s with %d", step.after, j.Status, aws.ToInt64(j.ProcessedRecordCount), step.status, step.processed)
		}
	}

	e.create(t, e.jobInput("other", "in/l.jsonl"))
	e.create(t, e.jobInput("walk-2", "in/l.jsonl"))
	e.create(t, e.jobInput("walk-3", "in/l.jsonl"))
	_, err := e.bedrock.CreateModelInvocationJob(testCtx(t), e.jobInput("walk-4", "in/l.jsonl"))
	checkAPIError(t, err, "ServiceQuotaExceededException", "maximum of 3")

	list := func(in *bedrock.ListModelInvocationJobsInput) []string {
		t.Helper()
		var names []string
		p := bedrock.NewListModelInvocationJobsPaginator(e.bedrock, in)
		for p.HasMorePages() {
			page, err := p.NextPage(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.InvocationJobSummaries {
				names = append(names, aws.ToString(s.JobName))
			}
		}
		return names
	}
	if got := list(&bedrock.ListModelInvocationJobsInput{NameContains: aws.String("walk"), MaxResults: aws.Int32(1)}); !slices.Equal(got, []string{"walk-3", "walk-2", "walk"}) {
		t.Errorf("nameContains walk, newest first, pages of 1: %v", got)
	}
	if got := list(&bedrock.ListModelInvocationJobsInput{StatusEquals: btypes.ModelInvocationJobStatusCompleted}); !slices.Equal(got, []string{"walk"}) {
		t.Errorf("statusEquals Completed: %v", got)
	}
	if got := list(&bedrock.ListModelInvocationJobsInput{SortOrder: btypes.SortOrderAscending}); len(got) != 4 || got[0] != "walk" {
		t.Errorf("ascending: %v", got)
	}

}

// A job that cannot start before its timeout is Expired; one that cannot finish in time ends
// PartiallyCompleted with the lines of the records it processed.
func TestBatchTimeouts(t *testing.T) {
	tests := []struct {
		name      string
		opts      batchjobs.Options
		status    btypes.ModelInvocationJobStatus
		processed int64
	}{
		{"expired", batchjobs.Options{StartAfter: 25 * time.Hour}, btypes.ModelInvocationJobStatusExpired, 0},
		// 100 records at one per 1,000s take 27.8h: 86 are done when 24h end.
		{"timed out", batchjobs.Options{RecordsPerSecond: 0.001}, btypes.ModelInvocationJobStatusPartiallyCompleted, 86},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			tt.opts.Clock = clock.Now
			e := newBatchEnv(t, bedrocktest.Options{Batch: tt.opts})
			e.put(t, "in/t.jsonl", jsonl(makeRecords("T", 100)))
			in := e.jobInput("timeout", "in/t.jsonl")
			in.TimeoutDurationInHours = aws.Int32(24)
			arn := e.create(t, in)
			clock.Add(23 * time.Hour)
			if j := e.job(t, arn); terminal(j.Status) {
				t.Fatalf("finished early: %s", j.Status)
			}
			clock.Add(time.Hour)
			j := e.wait(t, arn)
			if j.Status != tt.status || aws.ToInt64(j.ProcessedRecordCount) != tt.processed || aws.ToString(j.Message) == "" {
				t.Fatalf("%s with %d processed (%q), want %s with %d", j.Status, aws.ToInt64(j.ProcessedRecordCount), aws.ToString(j.Message), tt.status, tt.processed)
			}
			if !j.EndTime.Equal(*j.JobExpirationTime) {
				t.Errorf("ended %s, want at the expiration time %s", j.EndTime, j.JobExpirationTime)
			}
			if tt.processed > 0 {
				if lines := e.outputLines(t, "out/"+jobID(arn)+"/t.jsonl.out"); len(lines) != int(tt.processed) {
					t.Errorf("%d lines, want %d", len(lines), tt.processed)
				}
			}
		})
	}
}
