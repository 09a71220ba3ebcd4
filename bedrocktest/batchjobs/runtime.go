package batchjobs

// Runtime is the on-demand side of the emulator that the control plane answers records with.
// bedrocktest's Handler gives its own, so a record's modelOutput has the text and usage an
// on-demand Converse call of the same body gets.
type Runtime interface {
	// Serves reports whether modelID is a model the emulator serves. CreateModelInvocationJob
	// for any other is answered ResourceNotFoundException.
	Serves(modelID string) bool
	// AppendConverse appends to dst the Converse response body that answers modelInput (a
	// Converse request body) for modelID, with metrics.latencyMs set to latencyMs, and returns
	// its usage. It returns dst unchanged and an error, the ValidationException message an
	// on-demand call would get, when the body would be refused; the record then gets an
	// errorCode 400 line. It must be safe for concurrent use.
	AppendConverse(dst []byte, modelID string, modelInput []byte, latencyMs int64) ([]byte, Usage, error)
}

// Usage is what one answered record used.
type Usage struct {
	InputTokens  int64 // every input token: usage.inputTokens + cacheReadInputTokens + cacheWriteInputTokens
	OutputTokens int64 // usage.outputTokens
}
