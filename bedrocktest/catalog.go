package bedrocktest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
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
	writeJSONBody(w, map[string]any{"modelDetails": details})
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

// CatalogModel is a foundation model as ListFoundationModels describes it.
type CatalogModel struct {
	ID, Provider, Name string
}

// Catalog are the foundation models the emulator knows by name, with the provider and model
// names Bedrock's console and ListFoundationModels give them. Options.Account.Models may name
// others.
var Catalog = []CatalogModel{
	{"anthropic.claude-3-haiku-20240307-v1:0", "Anthropic", "Claude 3 Haiku"},
	{"anthropic.claude-3-5-haiku-20241022-v1:0", "Anthropic", "Claude 3.5 Haiku"},
	{"anthropic.claude-3-5-sonnet-20241022-v2:0", "Anthropic", "Claude 3.5 Sonnet v2"},
	{"anthropic.claude-3-7-sonnet-20250219-v1:0", "Anthropic", "Claude 3.7 Sonnet"},
	{"anthropic.claude-sonnet-4-20250514-v1:0", "Anthropic", "Claude Sonnet 4"},
	{"anthropic.claude-sonnet-4-5-20250929-v1:0", "Anthropic", "Claude Sonnet 4.5"},
	{"anthropic.claude-haiku-4-5-20251001-v1:0", "Anthropic", "Claude Haiku 4.5"},
	{"amazon.nova-micro-v1:0", "Amazon", "Nova Micro"},
	{"amazon.nova-lite-v1:0", "Amazon", "Nova Lite"},
	{"amazon.nova-pro-v1:0", "Amazon", "Nova Pro"},
	{"meta.llama3-3-70b-instruct-v1:0", "Meta", "Llama 3.3 70B Instruct"},
	{"demo.echo-v1", "Demo", "Echo"},
}

// catalogModel names a base model id: the account's names for it, the catalog's, or its id.
func (h *Handler) catalogModel(base string) CatalogModel {
	m := CatalogModel{ID: base}
	if i := slices.IndexFunc(Catalog, func(c CatalogModel) bool { return c.ID == base }); i >= 0 {
		m = Catalog[i]
	}
	if a := h.opts.Account; a != nil {
		if q, ok := a.Models[base]; ok {
			if q.Provider != "" {
				m.Provider = q.Provider
			}
			if q.Name != "" {
				m.Name = q.Name
			}
		}
	}
	if m.Name == "" {
		provider, name, _ := strings.Cut(base, ".")
		m.Provider, m.Name = provider, name
	}
	return m
}

// listedModels are the base ids ListFoundationModels answers: the catalog's, the account's and
// Options.Models' (but only those when Options.Models is set).
func (h *Handler) listedModels() []string {
	var ids []string
	add := func(id string) {
		id = baseModelID(id)
		if !slices.Contains(ids, id) && (len(h.opts.Models) == 0 || slices.ContainsFunc(h.opts.Models, func(m string) bool { return baseModelID(m) == id })) {
			ids = append(ids, id)
		}
	}
	for _, c := range Catalog {
		add(c.ID)
	}
	if a := h.opts.Account; a != nil {
		for _, id := range a.sortedModels() {
			add(id)
		}
	}
	for _, id := range h.opts.Models {
		add(id)
	}
	return ids
}

// listFoundationModels answers ListFoundationModels (GET /foundation-models), the fields of
// the SDK's FoundationModelSummary deserializer.
func (h *Handler) listFoundationModels(w http.ResponseWriter, r *http.Request) {
	type summary struct {
		ModelArn                   string            `json:"modelArn"`
		ModelID                    string            `json:"modelId"`
		ModelName                  string            `json:"modelName"`
		ProviderName               string            `json:"providerName"`
		InputModalities            []string          `json:"inputModalities"`
		OutputModalities           []string          `json:"outputModalities"`
		ResponseStreamingSupported bool              `json:"responseStreamingSupported"`
		InferenceTypesSupported    []string          `json:"inferenceTypesSupported"`
		ModelLifecycle             map[string]string `json:"modelLifecycle"`
	}
	var out struct {
		ModelSummaries []summary `json:"modelSummaries"`
	}
	for _, id := range h.listedModels() {
		m := h.catalogModel(id)
		if p := r.URL.Query().Get("byProvider"); p != "" && !strings.EqualFold(p, m.Provider) {
			continue
		}
		out.ModelSummaries = append(out.ModelSummaries, summary{ModelArn: "arn:aws:bedrock:" + signedRegion(r) + "::foundation-model/" + id,
			ModelID: id, ModelName: m.Name, ProviderName: m.Provider, InputModalities: []string{"TEXT"}, OutputModalities: []string{"TEXT"},
			ResponseStreamingSupported: true, InferenceTypesSupported: []string{"ON_DEMAND", "INFERENCE_PROFILE"},
			ModelLifecycle: map[string]string{"status": "ACTIVE"}})
	}
	writeJSONBody(w, out)
}

// profileRegions are the Regions a geographic inference profile routes to, as the user guide
// lists them for a source Region in the US, the EU and Asia Pacific.
var profileRegions = map[string][]string{
	"us": {"us-east-1", "us-east-2", "us-west-2"}, "eu": {"eu-central-1", "eu-west-1", "eu-west-3"},
	"apac": {"ap-northeast-1", "ap-southeast-1", "ap-southeast-2"}, "global": {"us-east-1", "eu-west-1", "ap-northeast-1"},
	"jp": {"ap-northeast-1", "ap-northeast-3"}, "au": {"ap-southeast-2", "ap-southeast-4"}, "ca": {"ca-central-1", "ca-west-1"},
	"us-gov": {"us-gov-west-1", "us-gov-east-1"},
}

// getInferenceProfile answers GetInferenceProfile (GET /inference-profiles/{id}): a system
// profile of a known model ("us.<model id>"), or one of Options.Account.ApplicationProfiles
// (by id or ARN).
func (h *Handler) getInferenceProfile(w http.ResponseWriter, r *http.Request) {
	ident := r.PathValue("inferenceProfileIdentifier")
	region := signedRegion(r)
	id := ident[strings.LastIndexByte(ident, '/')+1:]
	out := map[string]any{"inferenceProfileId": id, "status": "ACTIVE"}
	target, kind := id, "SYSTEM_DEFINED"
	if a := h.opts.Account; a != nil {
		if copied, ok := a.ApplicationProfiles[id]; ok {
			target, kind = copied, "APPLICATION"
			out["inferenceProfileArn"] = "arn:aws:bedrock:" + region + ":" + accountID + ":application-inference-profile/" + id
		}
	}
	base := baseModelID(target)
	geo, _, _ := strings.Cut(target, ".")
	regions, ok := profileRegions[geo]
	switch {
	case target == base && kind == "APPLICATION":
		regions = []string{region}
	case target == base || !ok || !(slices.Contains(h.listedModels(), base) || h.servesFoundation(base)):
		writeError(w, http.StatusNotFound, errResourceNotFound, "The inference profile "+ident+" could not be found.")
		return
	}
	if kind == "SYSTEM_DEFINED" {
		out["inferenceProfileArn"] = "arn:aws:bedrock:" + region + ":" + accountID + ":inference-profile/" + id
	}
	m := h.catalogModel(base)
	out["inferenceProfileName"] = strings.ToUpper(geo) + " " + m.Name
	out["type"] = kind
	var models []map[string]string
	for _, reg := range regions {
		models = append(models, map[string]string{"modelArn": "arn:aws:bedrock:" + reg + "::foundation-model/" + base})
	}
	out["models"] = models
	writeJSONBody(w, out)
}

// accountID is the emulated account.
const accountID = batchjobs.AccountID

// signedRegion is the Region the caller signed for, or us-east-1.
func signedRegion(r *http.Request) string { return batchjobs.SignedRegion(r) }

// writeJSONBody answers 200 with v as JSON.
func writeJSONBody(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, errInternalServer, err.Error())
		return
	}
	w.Header()["Content-Type"] = jsonContentType
	w.Write(data)
}
