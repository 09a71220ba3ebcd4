package bedrocktest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest/batchjobs"
)

// AccountQuotas are an AWS account's Bedrock quotas as Service Quotas lists them. With
// Options.Account the emulator is that account: ListServiceQuotas reports them under the names
// Bedrock gives them (QuotaNames), ListFoundationModels and GetInferenceProfile name the
// models, and every call is held to them as the user guide ("Quotas for the bedrock-runtime
// endpoint") describes: tokens per minute per model and per way of calling it (in one Region,
// through a cross-Region inference profile, through a global one), tokens per day per model
// whichever way it is called, tokens per day over every model, and the batch-inference quotas
// of each model's jobs.
type AccountQuotas struct {
	// Models are the quotas of each model, by base model id.
	Models map[string]ModelQuotas
	// CrossModelTokensPerDay is the account's daily tokens over every model ("Cross-Model Max
	// Tokens Per Day"; 0 = none).
	CrossModelTokensPerDay int
	// Names is the generation of quota names ListServiceQuotas answers with.
	Names QuotaNames
	// Denied makes ListServiceQuotas answer AccessDeniedException, as for a caller without
	// servicequotas:ListServiceQuotas. The quotas are enforced all the same.
	Denied bool
	// ApplicationProfiles are application inference profiles, by id: each copies the model or
	// system inference profile it names, and is called by its ARN
	// (arn:aws:bedrock:REGION:123456789012:application-inference-profile/ID).
	ApplicationProfiles map[string]string
}

// ModelQuotas are one model's quotas; a zero field is a quota the account does not have.
type ModelQuotas struct {
	// Provider and Name are the model's display names (ListFoundationModels' providerName
	// and modelName), which quota names use; empty = the built-in catalog's.
	Provider, Name string
	// TokensPerMinute binds calls by the model's own id; CrossRegionTokensPerMinute calls
	// through a geographic inference profile ("us."), and through a global one ("global.")
	// when GlobalTokensPerMinute is 0.
	TokensPerMinute, CrossRegionTokensPerMinute, GlobalTokensPerMinute int
	// TokensPerDay binds the model however it is called, settled quota tokens and calls in
	// flight together; with NamesModelInference, cross-Region calls may use twice it.
	TokensPerDay int
	// The batch-inference quotas: records per job and per input file, the fewest records a
	// job takes, input file and job sizes in bytes (listed in GB), and jobs submitted or in
	// progress.
	RecordsPerJob, RecordsPerFile, MinRecordsPerJob int
	FileBytes, JobBytes                             int64
	JobsPerModel                                    int
}

// QuotaNames is a generation of Bedrock's quota names.
type QuotaNames int

const (
	// NamesInvokeModel are the names of the user guide's "Quotas for the bedrock-runtime
	// endpoint": "On-demand InvokeModel tokens per minute for ${model}", "Cross-Region
	// InvokeModel tokens per minute for ${model}", "Model invocation max tokens per day for
	// ${model}".
	NamesInvokeModel QuotaNames = iota
	// NamesModelInference are the older names accounts still list: "On-demand model
	// inference tokens per minute for ${model}", "Cross-region model inference tokens per
	// minute for ${model}", "Model invocation max tokens per day for ${model} (doubled for
	// cross-region calls)".
	NamesModelInference
)

// ParseModelQuotas reads one --account-quota value of batch emulate:
// MODEL:KEY=N,KEY=N,... with keys tpm, cross-region-tpm, global-tpm, tpd, records-per-job,
// records-per-file, min-records, file-bytes, job-bytes and jobs.
func ParseModelQuotas(s string) (string, ModelQuotas, error) {
	model, list, ok := strings.Cut(s, ":")
	// A model id may hold ':' itself ("...-v1:0"): the list starts after the last ':'
	// followed by KEY=.
	if i := strings.LastIndex(s, ":"); i > 0 && strings.Contains(s[i:], "=") {
		model, list, ok = s[:i], s[i+1:], true
	}
	var q ModelQuotas
	if !ok || model == "" || list == "" {
		return "", q, fmt.Errorf("want MODEL:KEY=N,... got %q", s)
	}
	ints := map[string]*int{"tpm": &q.TokensPerMinute, "cross-region-tpm": &q.CrossRegionTokensPerMinute, "global-tpm": &q.GlobalTokensPerMinute,
		"tpd": &q.TokensPerDay, "records-per-job": &q.RecordsPerJob, "records-per-file": &q.RecordsPerFile,
		"min-records": &q.MinRecordsPerJob, "jobs": &q.JobsPerModel}
	int64s := map[string]*int64{"file-bytes": &q.FileBytes, "job-bytes": &q.JobBytes}
	for _, kv := range strings.Split(list, ",") {
		key, value, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 {
			return "", q, fmt.Errorf("%s: %q is not a whole number", key, value)
		}
		switch {
		case ints[key] != nil:
			*ints[key] = int(n)
		case int64s[key] != nil:
			*int64s[key] = n
		default:
			return "", q, fmt.Errorf("unknown key %q (want tpm, cross-region-tpm, global-tpm, tpd, records-per-job, records-per-file, min-records, file-bytes, job-bytes or jobs)", key)
		}
	}
	return model, q, nil
}

// How a call reaches its model decides which per-minute quota binds it.
const (
	scopeInRegion    = "in-region"
	scopeCrossRegion = "cross-region"
	scopeGlobal      = "global"
)

// accountQuota holds the calls to Options.Account's quotas: per-minute buckets per model and
// scope, and day counts per model and for the account.
type accountQuota struct {
	cfg    *AccountQuotas
	minute *quota // keyed by scope and base model id

	mu      sync.Mutex
	clock   dayClock
	models  map[string]*dayCount // by base model id; limit as in-Region calls see it
	account dayCount
}

// newAccountQuota returns nil without Options.Account.
func newAccountQuota(o Options, now time.Time) *accountQuota {
	if o.Account == nil {
		return nil
	}
	minute := map[string]Quota{}
	models := map[string]*dayCount{}
	for base, m := range o.Account.Models {
		global := m.GlobalTokensPerMinute
		if global == 0 {
			global = m.CrossRegionTokensPerMinute
		}
		minute[scopeInRegion+" "+base] = Quota{TokensPerMinute: m.TokensPerMinute}
		minute[scopeCrossRegion+" "+base] = Quota{TokensPerMinute: m.CrossRegionTokensPerMinute}
		minute[scopeGlobal+" "+base] = Quota{TokensPerMinute: global}
		models[base] = &dayCount{limit: float64(m.TokensPerDay)}
	}
	return &accountQuota{
		cfg:     o.Account,
		minute:  newQuota(Options{ModelQuotas: minute, QuotaBurst: o.QuotaBurst, DayLength: o.DayLength}, now),
		clock:   dayClock{start: now, length: o.dayLength()},
		models:  models,
		account: dayCount{limit: float64(o.Account.CrossModelTokensPerDay)},
	}
}

// route is the base model a call reaches and its scope; an application profile reaches what
// it copies.
func (a *accountQuota) route(modelID string) (base, scope string) {
	id := modelID
	if i := strings.Index(id, ":application-inference-profile/"); i >= 0 {
		if copied, ok := a.cfg.ApplicationProfiles[id[strings.LastIndexByte(id, '/')+1:]]; ok {
			id = copied
		}
	}
	if strings.HasPrefix(id, "arn:") {
		id = id[strings.LastIndexByte(id, '/')+1:]
	}
	base = baseModelID(id)
	switch {
	case id == base:
		return base, scopeInRegion
	case strings.HasPrefix(id, "global."):
		return base, scopeGlobal
	}
	return base, scopeCrossRegion
}

// dayLimit is a model's daily quota for a call in scope: twice it for cross-Region calls
// when the names say so.
func (a *accountQuota) dayLimit(d *dayCount, scope string) float64 {
	if a.cfg.Names == NamesModelInference && scope != scopeInRegion {
		return 2 * d.limit
	}
	return d.limit
}

// admit takes reserve tokens from the quotas binding modelID, all or none; it returns the
// throttling message, or "".
func (a *accountQuota) admit(now time.Time, modelID string, reserve int64) string {
	if a == nil {
		return ""
	}
	base, scope := a.route(modelID)
	n := float64(reserve)
	a.mu.Lock()
	a.rollLocked(now)
	d := a.models[base]
	if !a.account.fits(n) || d != nil && d.limit > 0 && d.used+d.reserved+n > a.dayLimit(d, scope) {
		a.mu.Unlock()
		return msgThrottledTPD
	}
	a.account.reserved += n
	if d != nil {
		d.reserved += n
	}
	a.mu.Unlock()
	if msg := a.minute.admit(now, scope+" "+base, reserve); msg != "" {
		a.settleDay(now, base, reserve, 0)
		return msg
	}
	return ""
}

// settle replaces what an admitted call reserved with what it used.
func (a *accountQuota) settle(now time.Time, modelID string, reserved int64, used float64) {
	if a == nil {
		return
	}
	base, scope := a.route(modelID)
	a.minute.settle(now, scope+" "+base, reserved, used)
	a.settleDay(now, base, reserved, used)
}

func (a *accountQuota) settleDay(now time.Time, base string, reserved int64, used float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rollLocked(now)
	a.account.reserved -= float64(reserved)
	a.account.used += used
	if d := a.models[base]; d != nil {
		d.reserved -= float64(reserved)
		d.used += used
	}
}

// rollLocked starts a new day once the current one has run its length.
func (a *accountQuota) rollLocked(now time.Time) {
	elapsed := now.Sub(a.clock.start)
	if elapsed < a.clock.length {
		return
	}
	a.clock.start = a.clock.start.Add(elapsed / a.clock.length * a.clock.length)
	a.account.used = 0
	for _, d := range a.models {
		d.used = 0
	}
}

// admitQuota admits a call to the account's quotas and to Options' own, all or none.
func (h *Handler) admitQuota(now time.Time, modelID string, reserved int64) string {
	if msg := h.account.admit(now, modelID, reserved); msg != "" {
		return msg
	}
	if msg := h.quota.admit(now, modelID, reserved); msg != "" {
		h.account.settle(now, modelID, reserved, 0)
		return msg
	}
	return ""
}

// settleQuota settles an admitted call with both.
func (h *Handler) settleQuota(now time.Time, modelID string, reserved int64, used float64) {
	h.quota.settle(now, modelID, reserved, used)
	h.account.settle(now, modelID, reserved, used)
}

// withAccountBatch gives each model's batch jobs the account's batch quotas.
func withAccountBatch(o Options) batchjobs.Options {
	b := o.Batch
	if o.Account == nil {
		return b
	}
	models := map[string]batchjobs.ModelLimits{}
	for id, l := range b.Models {
		models[id] = l
	}
	for base, m := range o.Account.Models {
		l := models[base]
		l.MaxRecords, l.MaxRecordsPerFile, l.MinRecords = m.RecordsPerJob, m.RecordsPerFile, m.MinRecordsPerJob
		l.MaxInputFileBytes, l.MaxJobBytes, l.MaxActiveJobs = m.FileBytes, m.JobBytes, m.JobsPerModel
		models[base] = l
	}
	b.Models = models
	return b
}

// String prints the quotas, for logs.
func (c *AccountQuotas) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "names=%d cross-model-tpd=%d denied=%v", c.Names, c.CrossModelTokensPerDay, c.Denied)
	for _, id := range c.sortedModels() {
		fmt.Fprintf(&b, " %s=%+v", id, c.Models[id])
	}
	return b.String()
}

// sortedModels returns the account's model ids in order.
func (c *AccountQuotas) sortedModels() []string {
	ids := make([]string, 0, len(c.Models))
	for id := range c.Models {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
