package batchinfer

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Part is one job's worth of records of one model: a staged input file and, once
// submitted, its job. It is kept in the run's State, so it marshals to JSON.
type Part struct {
	Model   string
	Name    string // the input file's name in the staging area: "<run slug>/<model slug>/part-00001.jsonl"
	Records int
	Bytes   int64
	// OnDemand marks a part below MinRecords, which no job accepts: it is staged (so the
	// run durably owns its records) but its records are sent on demand.
	OnDemand bool
	JobARN   string `json:",omitempty"`
	Status   string `json:",omitempty"` // the job's last known status
	Message  string `json:",omitempty"` // the job's last known message (why it failed)
	// Resubmits counts the jobs before this part's that held its records
	// and ended without answering them (a part made to resubmit them).
	Resubmits int `json:",omitempty"`
	// Processed, Succeeded and Failed are the job's record counts as
	// GetModelInvocationJob last gave them (processedRecordCount,
	// successRecordCount, errorRecordCount), where Bedrock gives them.
	Processed, Succeeded, Failed int64 `json:",omitempty"`
	// Meta names the file that holds the metadata of the part's records
	// (one of an earlier part for a part split or resubmitted from it); ""
	// for a plan that kept it per model.
	Meta string `json:",omitempty"`
}

// Job statuses, as types.ModelInvocationJobStatus spells them.
const (
	StatusSubmitted          = "Submitted"
	StatusValidating         = "Validating"
	StatusScheduled          = "Scheduled"
	StatusInProgress         = "InProgress"
	StatusCompleted          = "Completed"
	StatusPartiallyCompleted = "PartiallyCompleted"
	StatusFailed             = "Failed"
	StatusStopping           = "Stopping"
	StatusStopped            = "Stopped"
	StatusExpired            = "Expired"
)

// Finished reports whether a job with this status will not change again: Completed,
// PartiallyCompleted, Failed, Stopped or Expired.
func Finished(status string) bool {
	switch status {
	case StatusCompleted, StatusPartiallyCompleted, StatusFailed, StatusStopped, StatusExpired:
		return true
	}
	return false
}

// State is the run's durable record of its parts and their jobs, which the caller keeps
// in an "_"-file of the output: what the data rows cannot say.
type State struct {
	RunKey string
	Parts  []Part
}

// Marshal encodes the state as indented JSON, for a person to read as well.
func (s *State) Marshal() ([]byte, error) {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("batchinfer: encoding state: %w", err)
	}
	return append(data, '\n'), nil
}

// UnmarshalState decodes a state written by Marshal, and checks that it is whole: a run
// key, and parts with a model and a unique name.
func UnmarshalState(data []byte) (*State, error) {
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("batchinfer: decoding state: %w", err)
	}
	var errs []error
	if s.RunKey == "" {
		errs = append(errs, errors.New("no RunKey"))
	}
	seen := make(map[string]bool, len(s.Parts))
	for i, p := range s.Parts {
		switch {
		case p.Name == "" || p.Model == "":
			errs = append(errs, fmt.Errorf("part %d has no Name or no Model", i))
		case seen[p.Name]:
			errs = append(errs, fmt.Errorf("part %d: %s is listed twice", i, p.Name))
		}
		seen[p.Name] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("batchinfer: invalid state: %w", err)
	}
	return &s, nil
}
