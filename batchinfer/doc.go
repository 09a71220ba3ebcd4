// Package batchinfer runs records through Amazon Bedrock batch inference: it stages them
// as JSONL input files (parts) in an S3 prefix, drives one Converse-type model invocation
// job per part, and reads the jobs' outputs back as one Output per record.
//
// The flow of a run: a Stager writes records into parts (one model per part, rotated at
// the record and size quotas); the caller records the parts in its State and submits each
// with Jobs.Submit, whose client request token makes a resubmission after a crash return
// the same job; Jobs.Wait (or Refresh) follows a job to a finished status; Jobs.Outputs
// yields its records' results, and Jobs.Inputs the staged records, so that records a job
// did not answer (a Failed, Stopped or Expired job, a PartiallyCompleted one) can be sent
// on demand instead.
package batchinfer
