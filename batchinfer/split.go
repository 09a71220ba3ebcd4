package batchinfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// ErrTooLarge is wrapped by a Submit refused because the part is over a size or record
// quota of the job (a ValidationException saying so): split it and submit the halves.
var ErrTooLarge = errors.New("batchinfer: the part is over a job quota")

// tooLarge matches what Bedrock says of an input over its quotas: records or size, and a
// maximum, exceeded or too many. The quota names ("Records per batch inference job", "Batch
// inference input file size", "Batch inference job size") come from the user guide; the
// wording around them is Bedrock's own and may change, so only these words are relied on.
var (
	sizeWords  = regexp.MustCompile(`(?i)\b(records?|size|bytes|[0-9.]+ ?[kmg]i?b)\b`)
	limitWords = regexp.MustCompile(`(?i)(maximum|exceed|more than|too (many|large|big)|greater than|above|larger than|limit)`)
)

// TooLarge reports whether a job's refusal (its validation error, or a Failed job's message)
// says its input is over a record or size quota, which a smaller job would meet.
func TooLarge(message string) bool {
	return sizeWords.MatchString(message) && limitWords.MatchString(message)
}

// Split stages p's records again as two parts of about half as many records each, named
// under runKey (a key of their own, so their names and job tokens are new), and returns
// them; they keep p's metadata file and resubmission count. A half under the model's
// MinRecords is an on-demand part, as a plan's tail is.
func (j *Jobs) Split(ctx context.Context, p *Part, runKey string) ([]Part, error) {
	cfg := j.cfg
	cfg.RunKey = runKey
	half := (p.Records + 1) / 2
	lim := cfg.Limits(p.Model)
	cfg.ModelLimits = func(string) Limits {
		return Limits{MinRecords: lim.MinRecords, MaxRecords: max(half, 1), MaxPartBytes: lim.MaxPartBytes}
	}
	stager := NewStager(j.store, cfg)
	err := j.Inputs(ctx, p, func(id string, modelInput json.RawMessage) error {
		return stager.Add(ctx, id, p.Model, modelInput)
	})
	if err != nil {
		stager.Abort()
		return nil, fmt.Errorf("batchinfer: splitting %s: %w", p.Name, err)
	}
	parts, err := stager.Finish(ctx)
	if err != nil {
		return nil, fmt.Errorf("batchinfer: splitting %s: %w", p.Name, err)
	}
	for i := range parts {
		parts[i].Meta, parts[i].Resubmits = p.Meta, p.Resubmits
	}
	return parts, nil
}
