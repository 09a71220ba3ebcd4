package bedrocktest

import (
	"errors"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
)

// batchRuntime is the Handler as the batch control plane's Runtime. A record's modelInput is
// answered by the same steps as an on-demand Converse call (parseCall, validate, measure,
// Handler.answer, appendConverse), so its text and usage match a Converse call of the same
// body; only metrics.latencyMs differs. Faults, quotas, Observe and Stats are on-demand matters
// and do not apply.
type batchRuntime struct{ h *Handler }

var _ batchjobs.Runtime = batchRuntime{}

func (b batchRuntime) Serves(modelID string) bool { return b.h.knownModel(modelID) }

func (b batchRuntime) AppendConverse(dst []byte, modelID string, modelInput []byte, latencyMs int64) ([]byte, batchjobs.Usage, error) {
	c, err := parseCall(modelID, false, modelInput)
	if err != nil {
		return dst, batchjobs.Usage{}, err
	}
	if msg := c.validate(&b.h.opts); msg != "" {
		return dst, batchjobs.Usage{}, errors.New(msg)
	}
	rep := b.h.answer(&c, c.measure())
	u := batchjobs.Usage{InputTokens: rep.inputTokens + rep.cacheRead + rep.cacheWrite, OutputTokens: rep.outputTokens}
	return appendConverse(dst, rep, latencyMs), u, nil
}

// BatchStats returns the batch control plane's counters, with every job first brought up to
// the clock's now. It is safe for concurrent use.
func (h *Handler) BatchStats() batchjobs.Stats { return h.batch.Stats() }

// BatchJobs returns every batch job, oldest first, each brought up to the clock's now. It is
// safe for concurrent use.
func (h *Handler) BatchJobs() []batchjobs.Job { return h.batch.Jobs() }

// BatchStats returns the batch control plane's counters; see Handler.BatchStats.
func (s *Server) BatchStats() batchjobs.Stats { return s.handler.BatchStats() }

// BatchJobs returns every batch job, oldest first; see Handler.BatchJobs.
func (s *Server) BatchJobs() []batchjobs.Job { return s.handler.BatchJobs() }
