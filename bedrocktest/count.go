package bedrocktest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// countTokensPath reports whether r is a CountTokens call
// (POST /model/{modelId}/count-tokens) and for which model.
func countTokensPath(r *http.Request) (modelID string, ok bool) {
	p, found := strings.CutPrefix(r.URL.EscapedPath(), "/model/")
	if !found || r.Method != http.MethodPost {
		return "", false
	}
	p, found = strings.CutSuffix(p, "/count-tokens")
	if !found {
		return "", false
	}
	id, err := url.PathUnescape(p)
	return id, err == nil && id != ""
}

// countTokens answers CountTokens for a Converse-shaped input with the
// emulator's own count (the same inputTokens a Converse call reports). It
// is free, like Bedrock's, and uses no quota.
func (h *Handler) countTokens(w http.ResponseWriter, r *http.Request, modelID string) {
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
