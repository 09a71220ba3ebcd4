package bedrocktest

import (
	"net/http"
	"path"
	"strings"
)

// routes returns the mux that picks each call's handler. Every operation is one pattern of a
// method and a path (Go 1.22 ServeMux syntax), with the paths of the SDK's serializers. A
// wildcard matches one path segment, which the mux unescapes: a model id the SDK path-escaped
// (an ARN or an inference profile, ':' as %3A and '/' as %2F) reaches its handler exactly as
// the caller named it, while a '/' left unescaped makes another path, unknown.
//
// An operation added later is one more pattern on this mux, registered here or by the
// subpackage that owns it as batchjobs.Service.Register does, such as GetFoundationModel
// (GET /foundation-models/{modelIdentifier}). Service Quotas' JSON protocol posts every
// operation to / with an X-Amz-Target header: one POST /{$} handler dispatches on it.
// Anything no pattern matches falls to "/".
func (h *Handler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /model/{modelId}/converse", h.serveConverse)
	mux.HandleFunc("POST /model/{modelId}/converse-stream", h.serveConverseStream)
	mux.HandleFunc("POST /model/{modelId}/count-tokens", h.countTokens)
	h.batch.Register(mux) // CreateModelInvocationJob, GetModelInvocationJob, ListModelInvocationJobs, StopModelInvocationJob
	mux.HandleFunc("GET /foundation-models/{modelIdentifier}", h.serveFoundationModel)
	mux.HandleFunc("GET /foundation-models", h.listFoundationModels)
	mux.HandleFunc("GET /inference-profiles/{inferenceProfileIdentifier}", h.getInferenceProfile)
	mux.HandleFunc("POST /{$}", h.serveServiceQuotas) // Service Quotas: the operation is in X-Amz-Target
	mux.HandleFunc("/", h.unknownOperation)
	return mux
}

// unknownOperation answers a call to no operation the emulator serves: 404
// UnknownOperationException, counted in Stats.Requests only.
func (h *Handler) unknownOperation(w http.ResponseWriter, r *http.Request) {
	h.stats.requests.Add(1)
	writeError(w, http.StatusNotFound, errUnknownOperation, "bedrocktest serves no operation at "+r.Method+" "+r.URL.EscapedPath()+
		" (it serves Converse, ConverseStream and CountTokens on POST /model/{modelId}/..., the batch-inference control plane, ListFoundationModels, GetInferenceProfile and Service Quotas' ListServiceQuotas)")
}

// cleanPath reports whether p is a path the mux takes as it is: rooted, with no empty, . or ..
// segment (a trailing slash is allowed). The mux redirects any other to its cleaned form.
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return true // every call the SDK makes, without path.Clean's walk
	}
	c := path.Clean(p)
	return c == p || c+"/" == p
}
