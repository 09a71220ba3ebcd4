package bedrocktest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Lifecycle is a model's place in Bedrock's model lifecycle, as
// GetFoundationModel reports it (AWS user guide, "Model lifecycle"): Active,
// or Legacy from LegacyTime until EndOfLife, after which the model can no
// longer be called.
type Lifecycle struct {
	Status    string // "ACTIVE" or "LEGACY"
	LegacyAt  time.Time
	EndOfLife time.Time
}

// The catalog's answers: GetFoundationModel and GetInferenceProfile of the
// control plane, from Options.Models and Options.Lifecycles. A model that is
// not served is ResourceNotFoundException, as Bedrock answers an unknown
// id; a model past its end of life answers every call
// ResourceNotFoundException too, as Bedrock does once it retires a model.

// serveFoundationModel answers GET /foundation-models/{modelIdentifier}.
func (h *Handler) serveFoundationModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("modelIdentifier")
	if i := strings.LastIndex(id, "foundation-model/"); i >= 0 {
		id = id[i+len("foundation-model/"):]
	}
	if !h.servesFoundation(id) || profileGeography(id) != "" {
		writeError(w, http.StatusNotFound, errResourceNotFound, "The specified model identifier "+id+" is not a foundation model. (bedrocktest)")
		return
	}
	lc := h.lifecycle(id)
	details := map[string]any{
		"modelArn":                "arn:aws:bedrock:us-east-1::foundation-model/" + id,
		"modelId":                 id,
		"modelName":               id,
		"providerName":            strings.SplitN(id, ".", 2)[0],
		"inferenceTypesSupported": []string{"ON_DEMAND"},
		"modelLifecycle":          lc.wire(),
	}
	writeJSON(w, map[string]any{"modelDetails": details})
}

// serveInferenceProfile answers GET /inference-profiles/{inferenceProfileIdentifier}
// for a system-defined cross-Region profile ("us.anthropic...").
func (h *Handler) serveInferenceProfile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("inferenceProfileIdentifier")
	if i := strings.LastIndex(id, "inference-profile/"); i >= 0 {
		id = id[i+len("inference-profile/"):]
	}
	geo := profileGeography(id)
	if geo == "" || !h.knownModel(id) {
		writeError(w, http.StatusNotFound, errResourceNotFound, "The specified inference profile "+id+" was not found. (bedrocktest)")
		return
	}
	model := strings.TrimPrefix(id, geo+".")
	var models []map[string]string
	for _, region := range []string{"us-east-1", "us-west-2"} {
		models = append(models, map[string]string{"modelArn": "arn:aws:bedrock:" + region + "::foundation-model/" + model})
	}
	writeJSON(w, map[string]any{
		"inferenceProfileArn":  "arn:aws:bedrock:us-east-1:123456789012:inference-profile/" + id,
		"inferenceProfileId":   id,
		"inferenceProfileName": strings.ToUpper(geo) + " " + model,
		"models":               models,
		"status":               "ACTIVE",
		"type":                 "SYSTEM_DEFINED",
		"createdAt":            time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339),
	})
}

// servesFoundation reports whether a foundation model id is served: itself,
// or through an inference profile of it.
func (h *Handler) servesFoundation(id string) bool {
	if h.knownModel(id) {
		return true
	}
	for _, m := range h.opts.Models {
		if geo := profileGeography(m); geo != "" && strings.TrimPrefix(m, geo+".") == id {
			return true
		}
	}
	return false
}

// lifecycle is a model's lifecycle: its entry in Options.Lifecycles, by its
// id or its profile's base model, or Active.
func (h *Handler) lifecycle(id string) Lifecycle {
	if lc, ok := h.opts.Lifecycles[id]; ok {
		return lc
	}
	if geo := profileGeography(id); geo != "" {
		if lc, ok := h.opts.Lifecycles[strings.TrimPrefix(id, geo+".")]; ok {
			return lc
		}
	}
	return Lifecycle{Status: "ACTIVE"}
}

// retired reports whether a model has passed its end of life.
func (h *Handler) retired(id string) bool {
	lc := h.lifecycle(id)
	return !lc.EndOfLife.IsZero() && !time.Now().Before(lc.EndOfLife)
}

func (lc Lifecycle) wire() map[string]any {
	out := map[string]any{"status": lc.Status}
	if lc.Status == "" {
		out["status"] = "ACTIVE"
	}
	if !lc.LegacyAt.IsZero() {
		out["legacyTime"] = lc.LegacyAt.UTC().Format(time.RFC3339)
	}
	if !lc.EndOfLife.IsZero() {
		out["endOfLifeTime"] = lc.EndOfLife.UTC().Format(time.RFC3339)
	}
	return out
}

// profileGeography is the geography prefix of a cross-Region inference
// profile id ("us" of "us.anthropic.claude-..."), "" for a model id. The
// emulator reads ids its own way, not the client's.
func profileGeography(id string) string {
	first, rest, ok := strings.Cut(id, ".")
	if !ok || !strings.Contains(rest, ".") {
		return ""
	}
	switch first {
	case "us", "eu", "apac", "global", "us-gov", "jp", "au", "ca":
		return first
	}
	return ""
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
