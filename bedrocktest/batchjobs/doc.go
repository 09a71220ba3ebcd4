// Package batchjobs is the emulator's batch-inference control plane: the
// CreateModelInvocationJob, GetModelInvocationJob, ListModelInvocationJobs and
// StopModelInvocationJob operations of the service/bedrock API, served over an ObjectStore (S3
// through NewS3ObjectStore, or a MemoryStore in unit tests).
//
// bedrocktest composes it: Service.Register puts its operations on the emulator's mux, and the
// emulator's runtime is the Runtime that answers every record, so a record's modelOutput is
// what an on-demand Converse call of the same body answers. A Service also runs on its own
// mux with any Runtime.
//
// A job's life, as Bedrock's user guide describes it:
//
//  1. Create checks the request's fields, reads the input (one .jsonl object, or every .jsonl
//     object under a prefix), and refuses at once, with a ValidationException, an input
//     outside Options.MinRecords, MaxRecords, MaxInputFileBytes or MaxJobBytes; a full
//     Options.MaxActiveJobs is a ServiceQuotaExceededException; a repeated clientRequestToken
//     returns the first job (or a ConflictException for other parameters).
//  2. The job is Submitted, then Validating (Options.ValidateAfter), then Scheduled
//     (Options.ScheduleAfter), or Failed there for Options.FailJob or too many malformed
//     lines; then InProgress (Options.StartAfter), or Expired when it could not start before
//     its timeoutDurationInHours.
//  3. InProgress, it answers its records in input order at Options.RecordsPerSecond, each
//     through Options.FailRecord, then the batch rules (no toolConfig), then the Runtime.
//  4. It ends Completed (PartiallyCompleted when a record failed or the timeout cut it short)
//     or, once asked to stop, Stopping then Stopped; a job that ran writes one .out file per
//     input file and a manifest.json.out under <output s3Uri>/<job id>/.
//
// Statuses follow Options.Clock: a job catches up whenever it is looked at (Get, List, Stop,
// Stats, Jobs) and every 20 ms on the Service's own goroutine, so outputs appear without
// anyone polling.
package batchjobs
