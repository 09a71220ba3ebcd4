package batchroute

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
	"github.com/bedrock-batch/bedrock-batch/request"
)

// checkAllByJobs wants every one of n records answered once by a job, and none on demand.
func checkAllByJobs(t *testing.T, n int, rows int, left int, r *Route) {
	t.Helper()
	if rows != n || left != 0 {
		t.Errorf("%d rows from jobs, %d records on demand; want %d and none", rows, left, n)
	}
	if w := r.WholeJobsOnDemand(); len(w) != 0 {
		t.Errorf("whole jobs on demand: %+v", w)
	}
}

// TestDriveSplitsJobsRefusedAsTooLarge: with no record quota known, a part over the account's
// is refused at submission; it is split until its halves fit, and every record still goes
// through a job.
func TestDriveSplitsJobsRefusedAsTooLarge(t *testing.T) {
	e := newDriveEnv(t, batchjobs.Options{MinRecords: 5, MaxRecords: 20, ValidateAfter: time.Minute})
	r := e.route(Options{Batch: batchinfer.Config{MinRecords: 5}}) // 50,000 a job, as far as it knows
	if err := r.Prepare(context.Background(), records(60), request.New(request.Options{ModelID: driveModel})); err != nil {
		t.Fatal(err)
	}
	rows, left := e.drive(t, r)
	checkAllByJobs(t, 60, len(rows), len(left), r)
	parts := r.Parts()
	if len(parts) != 4 {
		t.Errorf("%d parts; want 60 split in 30s, then in 15s", len(parts))
	}
	for _, p := range parts {
		if p.Records > 20 || p.Status != batchinfer.StatusCompleted {
			t.Errorf("part %s: %d records, %s", p.Name, p.Records, p.Status)
		}
	}
	if st := e.srv.BatchStats(); st.JobsRejected != 3 || st.JobsCreated != 4 {
		t.Errorf("%d jobs refused and %d created; want 3 (60, 30, 30) and 4", st.JobsRejected, st.JobsCreated)
	}
}

// TestDriveSplitsJobsFailedAsTooLarge: a job Bedrock accepts, then fails in validation for a
// size quota, is split too, not sent on demand.
func TestDriveSplitsJobsFailedAsTooLarge(t *testing.T) {
	var failed atomic.Int32
	e := newDriveEnv(t, batchjobs.Options{MinRecords: 5, ValidateAfter: time.Minute, FailJob: func(string) (string, bool) {
		return "The input is 2.1 GB, larger than the maximum size of 1 GB per job.", failed.Add(1) == 1
	}})
	r := e.route(Options{Batch: batchinfer.Config{MinRecords: 5}})
	if err := r.Prepare(context.Background(), records(40), request.New(request.Options{ModelID: driveModel})); err != nil {
		t.Fatal(err)
	}
	rows, left := e.drive(t, r)
	checkAllByJobs(t, 40, len(rows), len(left), r)
	if parts := r.Parts(); len(parts) != 2 || parts[0].Records != 20 {
		t.Errorf("parts %+v; want two halves of 20", parts)
	}
}

// TestDriveKeepsJobsWithinTheQuota: with two jobs a model at once, five parts are submitted
// two at a time, the next when one finishes, and all complete.
func TestDriveKeepsJobsWithinTheQuota(t *testing.T) {
	e := newDriveEnv(t, batchjobs.Options{MinRecords: 5, ValidateAfter: time.Minute, StartAfter: time.Minute, RecordsPerSecond: 1,
		Models: map[string]batchjobs.ModelLimits{driveModel: {MaxActiveJobs: 2}}})
	r := e.route(Options{Batch: batchinfer.Config{MinRecords: 5, ModelLimits: func(string) batchinfer.Limits {
		return batchinfer.Limits{MaxRecords: 10, MaxJobs: 2}
	}}})
	if err := r.Prepare(context.Background(), records(50), request.New(request.Options{ModelID: driveModel})); err != nil {
		t.Fatal(err)
	}
	var most atomic.Int32
	e.watch = func() {
		n := int32(0)
		for _, p := range r.Parts() {
			if p.JobARN != "" && !batchinfer.Finished(p.Status) {
				n++
			}
		}
		if n > most.Load() {
			most.Store(n)
		}
	}
	rows, left := e.drive(t, r)
	checkAllByJobs(t, 50, len(rows), len(left), r)
	if most.Load() != 2 {
		t.Errorf("at most %d jobs at once; want 2", most.Load())
	}
	if st := e.srv.BatchStats(); st.JobsRejected != 0 || st.JobsCreated != 5 {
		t.Errorf("%d jobs refused, %d created; want none refused (the route kept to the quota) and 5", st.JobsRejected, st.JobsCreated)
	}
}

// TestDriveNoOnDemand: records no job answers (a failed job's, a tail under the minimum)
// are not sent on demand, and Run says how many have no row.
func TestDriveNoOnDemand(t *testing.T) {
	e := newDriveEnv(t, batchjobs.Options{MinRecords: 5, ValidateAfter: time.Minute,
		FailJob: func(name string) (string, bool) {
			return "The role cannot read the input.", strings.Contains(name, "part-00001")
		}})
	r := e.route(Options{NoOnDemand: true, Batch: batchinfer.Config{MinRecords: 5, MaxRecords: 10}})
	if err := r.Prepare(context.Background(), records(23), request.New(request.Options{ModelID: driveModel})); err != nil {
		t.Fatal(err)
	}
	if !r.Owns("r022") {
		t.Error("the tail of 3 is not held back from the on-demand pass")
	}
	rows, left, err := e.driveErr(t, r)
	if len(rows) != 10 || len(left) != 0 {
		t.Errorf("%d rows, %d on demand; want the 10 of the second job and none", len(rows), len(left))
	}
	if err == nil || !strings.Contains(err.Error(), "13 records have no row") || r.Unanswered() != 13 {
		t.Errorf("Run: %v (unanswered %d); want 13 records without a row (10 of the failed job, 3 of the tail)", err, r.Unanswered())
	}
}

// TestDriveWholeJobOnDemand: a job that fails for a reason no smaller job avoids sends all
// its records on demand, and the route says so.
func TestDriveWholeJobOnDemand(t *testing.T) {
	e := newDriveEnv(t, batchjobs.Options{MinRecords: 5, ValidateAfter: time.Minute,
		FailJob: func(string) (string, bool) { return "The role cannot read the input.", true }})
	r := e.route(Options{Batch: batchinfer.Config{MinRecords: 5}})
	if err := r.Prepare(context.Background(), records(12), request.New(request.Options{ModelID: driveModel})); err != nil {
		t.Fatal(err)
	}
	_, left := e.drive(t, r)
	w := r.WholeJobsOnDemand()
	if len(left) != 12 || len(w) != 1 || w[0].Records != 12 || w[0].Status != batchinfer.StatusFailed || w[0].Deadline {
		t.Errorf("%d on demand; whole jobs %+v", len(left), w)
	}
}

// TestPlanOwnsWhatJobsAnswer: the plan owns the records of parts with a job (22 records staged:
// parts of 10, 10 and a tail of 2), not a tail under
// the minimum (the on-demand pass's), nor a record whose request did not build.
func TestPlanOwnsWhatJobsAnswer(t *testing.T) {
	e := newDriveEnv(t, batchjobs.Options{MinRecords: 5})
	r := e.route(Options{Batch: batchinfer.Config{MinRecords: 5, MaxRecords: 10}})
	recs := records(23)
	(*recs)[4].Messages = nil // no prompt: the request does not build
	if err := r.Prepare(context.Background(), recs, request.New(request.Options{ModelID: driveModel})); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"r000": true, "r020": true, "r021": false, "r022": false, "r004": false} {
		if got := r.Owns(id); got != want {
			t.Errorf("Owns(%s) = %v, want %v", id, got, want)
		}
	}
}
