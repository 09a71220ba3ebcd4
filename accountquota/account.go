// Package accountquota holds the account's own Bedrock limits, read from
// Service Quotas (service code bedrock) at the start of a run: tokens and
// requests per minute and tokens per day for each model as it is called,
// the account's daily tokens over every model, and the batch-inference
// quotas (records and bytes per job, jobs per model).
//
// Quota names use model display names ("... tokens per minute for
// Anthropic Claude 3 Haiku") and come in more than one generation: the
// templates in names.json say which name means what, and ListFoundationModels
// (with the table in models.json) says which display names a model id has.
package accountquota

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/smithy-go"

	"github.com/bedrock-batch/bedrock-batch/modelid"
)

// ServiceCode is Bedrock's service code in Service Quotas.
const ServiceCode = "bedrock"

// ListAction is the IAM action Read needs.
const ListAction = "servicequotas:ListServiceQuotas"

// Lister is the part of the Service Quotas client (*servicequotas.Client)
// that Read uses.
type Lister interface {
	ListServiceQuotas(ctx context.Context, params *servicequotas.ListServiceQuotasInput, optFns ...func(*servicequotas.Options)) (*servicequotas.ListServiceQuotasOutput, error)
}

// Catalog is the part of the Bedrock control-plane client (*bedrock.Client)
// that names models: their display names, and what an application
// inference profile calls.
type Catalog interface {
	ListFoundationModels(ctx context.Context, params *bedrock.ListFoundationModelsInput, optFns ...func(*bedrock.Options)) (*bedrock.ListFoundationModelsOutput, error)
	GetInferenceProfile(ctx context.Context, params *bedrock.GetInferenceProfileInput, optFns ...func(*bedrock.Options)) (*bedrock.GetInferenceProfileOutput, error)
}

var (
	_ Lister  = (*servicequotas.Client)(nil)
	_ Catalog = (*bedrock.Client)(nil)
)

// ErrDenied is wrapped by Read when the caller may not list the quotas
// (AccessDeniedException): the role needs ListAction.
var ErrDenied = errors.New("not allowed to read the account's quotas")

// quota is one of the account's quotas, with the template its name follows.
type quota struct {
	name  string
	value float64
	t     *template
	model string // normalized display name; "" for every model
}

// Account is the account's Bedrock quotas, as read once.
type Account struct {
	quotas []quota
	// names holds each base model id's display names, normalized, the most
	// specific first.
	names map[string][]string
	// profiles holds the application inference profiles Resolve looked up.
	profiles map[string]profile
	catalog  Catalog
	// Notes says what could not be read besides the quotas themselves.
	Notes []string
}

// profile is what an application inference profile calls.
type profile struct {
	base  string // base model id
	scope string
}

// Read lists the account's Bedrock quotas (every page of ListServiceQuotas)
// and the display names of its models (ListFoundationModels). A quota list
// refused is ErrDenied; a model list refused or failing is only a note (the
// names in models.json are used), and catalog may be nil.
func Read(ctx context.Context, lister Lister, catalog Catalog) (*Account, error) {
	a := &Account{names: map[string][]string{}, profiles: map[string]profile{}, catalog: catalog}
	var token *string
	for {
		out, err := lister.ListServiceQuotas(ctx, &servicequotas.ListServiceQuotasInput{
			ServiceCode: aws.String(ServiceCode), NextToken: token, MaxResults: aws.Int32(100)})
		if err != nil {
			if apiCode(err) == "AccessDeniedException" {
				return nil, fmt.Errorf("%w (%s): %w", ErrDenied, ListAction, err)
			}
			return nil, fmt.Errorf("listing the account's Bedrock quotas: %w", err)
		}
		for _, q := range out.Quotas {
			a.add(aws.ToString(q.QuotaName), aws.ToFloat64(q.Value))
		}
		token = out.NextToken
		if aws.ToString(token) == "" {
			break
		}
	}
	for id, names := range shippedNames() {
		a.addNames(id, names...)
	}
	if catalog != nil {
		if err := a.readModels(ctx); err != nil {
			a.Notes = append(a.Notes, fmt.Sprintf("model names not read (%v): quota names matched by the shipped table only; allow bedrock:ListFoundationModels", err))
		}
	}
	return a, nil
}

// add keeps a quota whose name follows a template.
func (a *Account) add(name string, value float64) {
	t, model, ok := match(name)
	if !ok || value <= 0 {
		return
	}
	a.quotas = append(a.quotas, quota{name: name, value: value, t: t, model: model})
}

// readModels adds the display names ListFoundationModels gives.
func (a *Account) readModels(ctx context.Context) error {
	out, err := a.catalog.ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{})
	if err != nil {
		return err
	}
	for _, m := range out.ModelSummaries {
		a.addNames(aws.ToString(m.ModelId), derivedNames(aws.ToString(m.ModelId), aws.ToString(m.ProviderName), aws.ToString(m.ModelName))...)
	}
	return nil
}

// derivedNames are the display names a quota may give a model listed as
// provider and name: with and without the provider, each first with the
// version its id ends in ("-v2:0" is "V2"), as quota names often add it.
func derivedNames(id, provider, name string) []string {
	if name == "" {
		return nil
	}
	plain := []string{name}
	if provider != "" && !strings.HasPrefix(strings.ToLower(name), strings.ToLower(provider)+" ") {
		plain = []string{provider + " " + name, name}
	}
	var out []string
	if v := idVersion(id); v != "" {
		for _, n := range plain {
			out = append(out, n+" "+v)
		}
	}
	return append(out, plain...)
}

// idVersion is "V1" for an id ending "-v1:0" or "-v1", else "".
func idVersion(id string) string {
	id, _, _ = strings.Cut(id, ":")
	i := strings.LastIndex(id, "-v")
	if i < 0 || i+2 == len(id) || strings.Trim(id[i+2:], "0123456789") != "" {
		return ""
	}
	return "V" + id[i+2:]
}

// addNames adds display names of a base model id, keeping the first order
// seen and no name twice.
func (a *Account) addNames(id string, names ...string) {
	for _, n := range names {
		n = normalize(n)
		if n != "" && !slices.Contains(a.names[id], n) {
			a.names[id] = append(a.names[id], n)
		}
	}
}

// Resolve looks up, with GetInferenceProfile, what the application
// inference profiles among models call, so For knows their quotas. A
// profile that cannot be looked up stays unknown (a note says why).
func (a *Account) Resolve(ctx context.Context, models []string) {
	for _, m := range models {
		if !isApplicationProfile(m) || a.catalog == nil {
			continue
		}
		if _, done := a.profiles[m]; done {
			continue
		}
		out, err := a.catalog.GetInferenceProfile(ctx, &bedrock.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String(m)})
		if err != nil {
			a.Notes = append(a.Notes, fmt.Sprintf("%s: inference profile not read (%v); allow bedrock:GetInferenceProfile", m, err))
			continue
		}
		a.profiles[m] = profileOf(out)
	}
}

// profileOf says which model a profile calls and how: models in more than
// one Region make it a cross-Region profile.
func profileOf(out *bedrock.GetInferenceProfileOutput) profile {
	var p profile
	regions := map[string]bool{}
	for _, m := range out.Models {
		arn := aws.ToString(m.ModelArn)
		if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 {
			regions[parts[3]] = true
		}
		if p.base == "" {
			p.base = modelid.Parse(arn).Model
		}
	}
	p.scope = scopeInRegion
	if len(regions) > 1 {
		p.scope = scopeCrossRegion
	}
	return p
}

func isApplicationProfile(model string) bool {
	return strings.HasPrefix(model, "arn:") && strings.Contains(model, ":application-inference-profile/")
}

// Limit is one limit and the quota it comes from; a zero Value is not
// known.
type Limit struct {
	Value int64  `json:"value,omitempty"`
	Quota string `json:"quota,omitempty"` // the quota's name in Service Quotas
}

// Known reports whether the account has the limit.
func (l Limit) Known() bool { return l.Value > 0 }

// Limits are what the account's quotas allow one model, as it is called.
type Limits struct {
	TokensPerMinute, RequestsPerMinute, TokensPerDay Limit
	// The batch-inference quotas of the model.
	RecordsPerJob, RecordsPerFile, MinRecordsPerJob, FileBytes, JobBytes, JobsPerModel Limit
}

// For returns the limits that bind model as it is called: by its own id in
// one Region, the on-demand quotas; by a cross-Region inference profile,
// the cross-Region ones (a global profile's own global ones first). Where
// two quotas of different generations both apply, the smaller counts.
func (a *Account) For(model string) Limits {
	base, scope := a.route(model)
	names := a.names[base]
	pick := func(kind Kind) Limit {
		l := a.pick(kind, scope, names)
		if !l.Known() && scope == scopeGlobal && (kind == TokensPerMinute || kind == RequestsPerMinute) {
			// A global profile is a cross-Region one: where the account
			// has no global quota, the cross-Region quota binds.
			l = a.pick(kind, scopeCrossRegion, names)
		}
		return l
	}
	return Limits{
		TokensPerMinute: pick(TokensPerMinute), RequestsPerMinute: pick(RequestsPerMinute), TokensPerDay: pick(TokensPerDay),
		RecordsPerJob: pick(RecordsPerJob), RecordsPerFile: pick(RecordsPerFile), MinRecordsPerJob: pick(MinRecordsPerJob),
		FileBytes: pick(FileBytes), JobBytes: pick(JobBytes), JobsPerModel: pick(JobsPerModel),
	}
}

// CrossModelTokensPerDay is the account's daily token quota over every
// model together.
func (a *Account) CrossModelTokensPerDay() Limit {
	return a.pick(AccountTokensPerDay, scopeInRegion, nil)
}

// pick returns the binding quota of a kind for a model of these display
// names called in scope: a quota naming the model by its most specific
// name wins over one naming it less specifically, and either over a quota
// of every model.
func (a *Account) pick(kind Kind, scope string, names []string) Limit {
	best, bestRank := Limit{}, math.MaxInt
	for _, q := range a.quotas {
		if q.t.Kind != kind {
			continue
		}
		ok, factor := q.t.appliesTo(scope)
		if !ok {
			continue
		}
		rank := len(names) // a quota of every model ranks last
		if q.model != "" {
			if rank = slices.Index(names, q.model); rank < 0 {
				continue
			}
		}
		v := int64(math.Floor(q.value * factor * q.t.UnitBytes))
		if rank < bestRank || (rank == bestRank && v < best.Value) {
			best, bestRank = Limit{Value: v, Quota: q.name}, rank
		}
	}
	return best
}

// route is the base model id a model id calls, and how.
func (a *Account) route(model string) (string, string) {
	if p, ok := a.profiles[model]; ok {
		return p.base, p.scope
	}
	id := modelid.Parse(model)
	switch {
	case id.Geography == "":
		return id.Model, scopeInRegion
	case id.Geography == "global":
		return id.Model, scopeGlobal
	}
	return id.Model, scopeCrossRegion
}

// Geographies are the prefixes of cross-Region inference profile ids.
var Geographies = []string{"us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"}

// Models lists every model id, base and inference profile (one per
// geography), that some quota of the account names: the ids a run may
// meet in its records, for a table of limits made before reading them.
func (a *Account) Models() []string {
	named := map[string]bool{}
	for _, q := range a.quotas {
		if q.model != "" {
			named[q.model] = true
		}
	}
	var out []string
	for base, names := range a.names {
		if !slices.ContainsFunc(names, func(n string) bool { return named[n] }) {
			continue
		}
		out = append(out, base)
		for _, g := range Geographies {
			out = append(out, g+"."+base)
		}
	}
	sort.Strings(out)
	return out
}

// DisplayNames are the names quotas may give the base model a model id
// calls, for messages.
func (a *Account) DisplayNames(model string) []string {
	base, _ := a.route(model)
	return a.names[base]
}

// apiCode is the error code of an API error, or "".
func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
