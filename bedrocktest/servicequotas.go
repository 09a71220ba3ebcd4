package bedrocktest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
)

// Service Quotas speaks AWS JSON 1.1: every operation is POST / with an X-Amz-Target header
// naming it, and errors carry their type in X-Amzn-ErrorType (service/servicequotas, through
// smithy-go's awsjson protocol).
const (
	serviceQuotasTarget = "ServiceQuotasV20190624."
	errAccessDenied     = "AccessDeniedException"
)

// serveServiceQuotas answers POST / for Service Quotas: ListServiceQuotas only.
func (h *Handler) serveServiceQuotas(w http.ResponseWriter, r *http.Request) {
	switch target := r.Header.Get("X-Amz-Target"); target {
	case serviceQuotasTarget + "ListServiceQuotas":
		h.listServiceQuotas(w, r)
	default:
		writeError(w, http.StatusBadRequest, errUnknownOperation, "bedrocktest serves no operation "+target+" (of Service Quotas it serves ListServiceQuotas)")
	}
}

// wireQuota is a ServiceQuota as the SDK's schema names its members.
type wireQuota struct {
	ServiceCode string  `json:"ServiceCode"`
	ServiceName string  `json:"ServiceName"`
	QuotaArn    string  `json:"QuotaArn"`
	QuotaCode   string  `json:"QuotaCode"`
	QuotaName   string  `json:"QuotaName"`
	Value       float64 `json:"Value"`
	Unit        string  `json:"Unit"`
	Adjustable  bool    `json:"Adjustable"`
	GlobalQuota bool    `json:"GlobalQuota"`
}

// listServiceQuotas answers ListServiceQuotas: for service code bedrock, the account's quotas
// (Options.Account) and a few others every account has, a page of MaxResults (default 100) at
// a time.
func (h *Handler) listServiceQuotas(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ServiceCode string `json:"ServiceCode"`
		NextToken   string `json:"NextToken"`
		MaxResults  int    `json:"MaxResults"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.ServiceCode == "" {
		writeError(w, http.StatusBadRequest, "IllegalArgumentException", "ServiceCode is required.")
		return
	}
	if a := h.opts.Account; a != nil && a.Denied {
		writeError(w, http.StatusBadRequest, errAccessDenied, "User: arn:aws:sts::"+accountID+":assumed-role/batch/session is not authorized to perform: servicequotas:ListServiceQuotas (bedrocktest: Account.Denied)")
		return
	}
	var all []wireQuota
	if req.ServiceCode == "bedrock" {
		all = h.bedrockQuotas(signedRegion(r))
	}
	start, _ := strconv.Atoi(req.NextToken)
	size := req.MaxResults
	if size <= 0 || size > 100 {
		size = 100
	}
	start = min(max(start, 0), len(all))
	end := min(start+size, len(all))
	out := struct {
		Quotas    []wireQuota `json:"Quotas"`
		NextToken string      `json:"NextToken,omitempty"`
	}{Quotas: all[start:end]}
	if end < len(all) {
		out.NextToken = strconv.Itoa(end)
	}
	w.Header()["Content-Type"] = []string{"application/x-amz-json-1.1"}
	data, _ := json.Marshal(out)
	w.Write(data)
}

// bedrockQuotas lists the account's Bedrock quotas under the names of its generation, and two
// quotas no run reads, as a real listing has hundreds.
func (h *Handler) bedrockQuotas(region string) []wireQuota {
	var out []wireQuota
	add := func(name string, value float64) {
		if value <= 0 {
			return
		}
		f := fnv.New32a()
		f.Write([]byte(name))
		code := fmt.Sprintf("L-%08X", f.Sum32())
		out = append(out, wireQuota{ServiceCode: "bedrock", ServiceName: "Amazon Bedrock", QuotaArn: "arn:aws:servicequotas:" + region + ":" + accountID + ":bedrock/" + code,
			QuotaCode: code, QuotaName: name, Value: value, Unit: "None", Adjustable: true})
	}
	add("(Knowledge Bases) Rerank requests per second", 10)
	add("Model units per provisioned model for Anthropic Claude Instant V1 100K", 1)
	a := h.opts.Account
	if a == nil {
		return out
	}
	names := quotaNames[a.Names]
	add("Cross-Model Max Tokens Per Day", float64(a.CrossModelTokensPerDay))
	for _, id := range a.sortedModels() {
		q, m := a.Models[id], h.catalogModel(id)
		full := m.Provider + " " + m.Name
		add(names.onDemandTPM+full, float64(q.TokensPerMinute))
		add(names.crossRegionTPM+full, float64(q.CrossRegionTokensPerMinute))
		add(names.globalTPM+full, float64(q.GlobalTokensPerMinute))
		add(names.tpd+full+names.tpdSuffix, float64(q.TokensPerDay))
		add("Records per batch inference job for "+m.Name, float64(q.RecordsPerJob))
		add("Records per input file per batch inference job for "+m.Name, float64(q.RecordsPerFile))
		add("Minimum number of records per batch inference job for "+m.Name, float64(q.MinRecordsPerJob))
		add("Batch inference input file size (in GB) for "+m.Name, float64(q.FileBytes)/1e9)
		add("Batch inference job size (in GB) for "+m.Name, float64(q.JobBytes)/1e9)
		add("Sum of in-progress and submitted batch inference jobs using a base model for "+m.Name, float64(q.JobsPerModel))
	}
	return out
}

// quotaNames are the runtime quota names of each generation, before the model's display name.
var quotaNames = map[QuotaNames]struct{ onDemandTPM, crossRegionTPM, globalTPM, tpd, tpdSuffix string }{
	NamesInvokeModel: {"On-demand InvokeModel tokens per minute for ", "Cross-Region InvokeModel tokens per minute for ",
		"Global cross-Region model inference tokens per minute for ", "Model invocation max tokens per day for ", ""},
	NamesModelInference: {"On-demand model inference tokens per minute for ", "Cross-region model inference tokens per minute for ",
		"Global cross-region model inference tokens per minute for ", "Model invocation max tokens per day for ", " (doubled for cross-region calls)"},
}
