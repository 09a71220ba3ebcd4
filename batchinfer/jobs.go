package batchinfer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/smithy-go"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// ErrJobQuota is wrapped by a Submit refused because the account has as many batch jobs
// as its quota allows (ServiceQuotaExceededException): submit again when one finishes.
var ErrJobQuota = errors.New("batchinfer: batch job quota reached")

// Jobs drives parts' batch jobs. It is safe for concurrent use, on different parts.
type Jobs struct {
	control Control
	store   storage.Dir
	cfg     Config
	err     error // an invalid config
}

// NewJobs returns Jobs that submit through control and stage in store. An invalid cfg is
// reported by Submit.
func NewJobs(control Control, store storage.Dir, cfg Config) *Jobs {
	return &Jobs{control: control, store: store, cfg: cfg.withDefaults(), err: cfg.Validate()}
}

// Submit creates p's job (Converse type, input p's file, output under
// "out/<p's name without .jsonl>/") and sets p.JobARN and p.Status (Submitted). The client
// request token and the job name derive from RunKey and p.Name only (ClientRequestToken,
// JobName): submitting again a part whose ARN was lost returns the same job, never a
// second one. A different RoleARN or TimeoutHours on that second submission makes
// Bedrock refuse it (ConflictException) rather than start another job. A part that
// already has a JobARN is left alone.
func (j *Jobs) Submit(ctx context.Context, p *Part) error {
	switch {
	case j.err != nil:
		return j.err
	case p.OnDemand:
		return fmt.Errorf("batchinfer: submit %s: an on-demand part (%d records, fewer than %d) has no job", p.Name, p.Records, j.cfg.Limits(p.Model).MinRecords)
	case p.JobARN != "":
		return nil
	case j.cfg.RoleARN == "":
		return fmt.Errorf("batchinfer: submit %s: no RoleARN", p.Name)
	}
	in := &bedrock.CreateModelInvocationJobInput{
		JobName:            aws.String(JobName(j.cfg.RunKey, p)),
		ClientRequestToken: aws.String(ClientRequestToken(j.cfg.RunKey, p)),
		RoleArn:            aws.String(j.cfg.RoleARN),
		ModelId:            aws.String(p.Model),
		InputDataConfig: &types.ModelInvocationJobInputDataConfigMemberS3InputDataConfig{
			Value: types.ModelInvocationJobS3InputDataConfig{
				S3Uri:         aws.String(j.store.URI(p.Name)),
				S3InputFormat: types.S3InputFormatJsonl,
			},
		},
		OutputDataConfig: &types.ModelInvocationJobOutputDataConfigMemberS3OutputDataConfig{
			Value: types.ModelInvocationJobS3OutputDataConfig{S3Uri: aws.String(j.store.URI(outPrefix(p)))},
		},
		ModelInvocationType:    types.ModelInvocationTypeConverse,
		TimeoutDurationInHours: aws.Int32(int32(j.cfg.TimeoutHours)),
	}
	j.cfg.lockDown(in)
	out, err := j.control.CreateModelInvocationJob(ctx, in)
	if err != nil {
		switch code := apiCode(err); {
		case code == "ServiceQuotaExceededException":
			return fmt.Errorf("batchinfer: submit %s: %w: %w", p.Name, ErrJobQuota, err)
		case code == "ValidationException" && TooLarge(err.Error()):
			return fmt.Errorf("batchinfer: submit %s: %w: %w", p.Name, ErrTooLarge, err)
		}
		return fmt.Errorf("batchinfer: submit %s: %w", p.Name, err)
	}
	if aws.ToString(out.JobArn) == "" {
		return fmt.Errorf("batchinfer: submit %s: CreateModelInvocationJob answered no job ARN", p.Name)
	}
	p.JobARN, p.Status, p.Message = aws.ToString(out.JobArn), StatusSubmitted, ""
	return nil
}

// Refresh asks for p's job's status and message (GetModelInvocationJob) and sets them.
func (j *Jobs) Refresh(ctx context.Context, p *Part) error {
	if p.JobARN == "" {
		return fmt.Errorf("batchinfer: refresh %s: not submitted", p.Name)
	}
	out, err := j.control.GetModelInvocationJob(ctx, &bedrock.GetModelInvocationJobInput{JobIdentifier: aws.String(p.JobARN)})
	if err != nil {
		return fmt.Errorf("batchinfer: refresh %s (%s): %w", p.Name, p.JobARN, err)
	}
	p.Status, p.Message = string(out.Status), aws.ToString(out.Message)
	p.Processed, p.Succeeded, p.Failed = aws.ToInt64(out.ProcessedRecordCount), aws.ToInt64(out.SuccessRecordCount), aws.ToInt64(out.ErrorRecordCount)
	return nil
}

// Stop asks p's job to stop (StopModelInvocationJob) and sets p.Status to Stopping. A job
// already finished is not an error: p then gets its final status. A part without a job
// has nothing to stop.
func (j *Jobs) Stop(ctx context.Context, p *Part) error {
	if p.JobARN == "" || Finished(p.Status) {
		return nil
	}
	_, err := j.control.StopModelInvocationJob(ctx, &bedrock.StopModelInvocationJobInput{JobIdentifier: aws.String(p.JobARN)})
	if err == nil {
		p.Status = StatusStopping
		return nil
	}
	// Bedrock refuses to stop a finished job (ConflictException); ask rather than trust
	// the error's name.
	if rerr := j.Refresh(ctx, p); rerr == nil && Finished(p.Status) {
		return nil
	}
	return fmt.Errorf("batchinfer: stop %s (%s): %w", p.Name, p.JobARN, err)
}

// Wait refreshes p until its job is finished, or ctx ends. The wait between two calls
// starts at PollInterval and doubles, up to MaxPollInterval, while the status stays the
// same. changed, if not nil, is called after every change of status or message (to save
// the State); an error from it ends the wait.
func (j *Jobs) Wait(ctx context.Context, p *Part, changed func(*Part) error) error {
	var delay time.Duration
	for {
		status, message := p.Status, p.Message
		if err := j.Refresh(ctx, p); err != nil {
			return err
		}
		if p.Status != status || p.Message != message {
			delay = j.cfg.PollInterval
			if changed != nil {
				if err := changed(p); err != nil {
					return err
				}
			}
		} else {
			delay = min(max(2*delay, j.cfg.PollInterval), j.cfg.MaxPollInterval)
		}
		if Finished(p.Status) {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// apiCode is the error code of an API error, or "".
func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
