package batchjobs

import (
	"context"
	"slices"
	"strings"
)

// ModelLimits are one model's own batch-inference quotas, as Bedrock keeps them per model
// ("Records per batch inference job for ${model}", "Sum of in-progress and submitted batch
// inference jobs using a base model for ${model}", ...). A zero field leaves the Options
// value for every model in force.
type ModelLimits struct {
	MinRecords, MaxRecords int
	// MaxRecordsPerFile bounds each input file of a job (0 = no bound of its own).
	MaxRecordsPerFile int
	MaxInputFileBytes int64
	MaxJobBytes       int64
	// MaxActiveJobs caps the model's jobs neither finished nor stopped: beyond it
	// CreateModelInvocationJob is answered ServiceQuotaExceededException.
	MaxActiveJobs int
}

// forModel is the Options a job of modelID is checked against: the model's own limits
// (Options.Models, by base model id) over everyone's.
func (o Options) forModel(modelID string) (Options, ModelLimits) {
	m, ok := o.Models[BaseModelID(modelID)]
	if !ok {
		return o, ModelLimits{}
	}
	if m.MinRecords != 0 {
		o.MinRecords = m.MinRecords
	}
	if m.MaxRecords != 0 {
		o.MaxRecords = m.MaxRecords
	}
	if m.MaxInputFileBytes != 0 {
		o.MaxInputFileBytes = m.MaxInputFileBytes
	}
	if m.MaxJobBytes != 0 {
		o.MaxJobBytes = m.MaxJobBytes
	}
	return o, m
}

// activeOf counts the jobs of modelID's base model not finished, as of now.
func (s *Service) activeOf(ctx context.Context, modelID string) int {
	base, n := BaseModelID(modelID), 0
	for _, j := range s.all() {
		j.mu.Lock()
		s.advance(ctx, j, s.opts.now())
		if !terminal(j.status) && BaseModelID(j.spec.modelID) == base {
			n++
		}
		j.mu.Unlock()
	}
	return n
}

// recordsPerFile returns the index and count of the input file with the most records.
func recordsPerFile(records []record, files int) (file, most int) {
	counts := make([]int, files)
	for _, r := range records {
		counts[r.file]++
	}
	for i, c := range counts {
		if c > most {
			file, most = i, c
		}
	}
	return file, most
}

// GeoPrefixes are the leading segments of cross-Region inference profile ids
// ("us.anthropic.claude-...").
var GeoPrefixes = []string{"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"}

// BaseModelID strips what names a way to reach a model from its id: an ARN up to its last
// "/" (foundation-model/, inference-profile/) and an inference profile's geography prefix, so
// "arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-x" is
// "anthropic.claude-x". An application inference profile's opaque id stays as it is.
func BaseModelID(id string) string {
	if strings.HasPrefix(id, "arn:") {
		if i := strings.LastIndexByte(id, '/'); i >= 0 {
			id = id[i+1:]
		}
	}
	if geo, rest, ok := strings.Cut(id, "."); ok && slices.Contains(GeoPrefixes, geo) {
		return rest
	}
	return id
}
