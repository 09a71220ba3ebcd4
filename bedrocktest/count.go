package bedrocktest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// countTokens answers CountTokens (POST /model/{modelId}/count-tokens) for a
// Converse-shaped input with the emulator's own count (the same inputTokens a
// Converse call reports). It is free, like Bedrock's, uses no quota, and is
// counted in Stats.CountTokens only.
func (h *Handler) countTokens(w http.ResponseWriter, r *http.Request) {
	modelID := r.PathValue("modelId") // unescaped by the mux
	var body struct {
		Input struct {
			Converse *converseRequest `json:"converse"`
		} `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Input.Converse == nil {
		writeError(w, http.StatusBadRequest, errValidation, "CountTokens needs input.converse with messages (bedrocktest counts Converse inputs only)")
		return
	}
	if !h.knownModel(modelID) {
		writeError(w, http.StatusNotFound, errResourceNotFound, "The provided model identifier is invalid. (bedrocktest: not in Options.Models)")
		return
	}
	h.stats.countCalls.Add(1)
	c := call{modelID: modelID, req: *body.Input.Converse}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"inputTokens":` + strconv.FormatInt(c.measure().tokens, 10) + `}`))
}
