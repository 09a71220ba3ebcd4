package accountquota

import (
	"slices"
	"strings"
	"testing"
)

const (
	haiku3    = "anthropic.claude-3-haiku-20240307-v1:0"
	sonnet4   = "anthropic.claude-sonnet-4-20250514-v1:0"
	sonnet45  = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	haiku45   = "anthropic.claude-haiku-4-5-20251001-v1:0"
	sonnet35  = "anthropic.claude-3-5-sonnet-20240620-v1:0"
	sonnet3   = "anthropic.claude-3-sonnet-20240229-v1:0"
	novaLite  = "amazon.nova-lite-v1:0"
	twinV1    = "acme.twin-v1:0"
	twinV2    = "acme.twin-v2:0"
	notListed = "acme.unlisted-v1:0"
)

// account is an Account holding quotas of these names and values, with the
// shipped display names and those ListFoundationModels would give the Acme
// models.
func account(quotas map[string]float64) *Account {
	a := &Account{names: map[string][]string{}, profiles: map[string]profile{}}
	for name, value := range quotas {
		a.add(name, value)
	}
	for id, names := range shippedNames() {
		a.addNames(id, names...)
	}
	a.addNames(twinV1, derivedNames(twinV1, "Acme", "Twin")...)
	a.addNames(twinV2, derivedNames(twinV2, "Acme", "Twin")...)
	return a
}

// TestQuotaNamesMapToModels: quota names of every generation AWS has used
// bind the model ids they name, called the way they name (in one Region,
// through a cross-Region profile, through a global one), and no other.
func TestQuotaNamesMapToModels(t *testing.T) {
	for _, tt := range []struct {
		name   string
		quotas map[string]float64
		model  string
		kind   Kind
		want   int64
		quota  string // the quota it comes from, when want > 0
	}{
		{"user guide: on demand", map[string]float64{"On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku": 37000},
			haiku3, TokensPerMinute, 37000, "On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku"},
		{"user guide: on-demand quota does not bind a profile", map[string]float64{"On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku": 37000},
			"us." + haiku3, TokensPerMinute, 0, ""},
		{"user guide: cross-Region", map[string]float64{"Cross-Region InvokeModel tokens per minute for Anthropic Claude 3 Haiku": 74000,
			"On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku": 37000},
			"us." + haiku3, TokensPerMinute, 74000, "Cross-Region InvokeModel tokens per minute for Anthropic Claude 3 Haiku"},
		{"user guide: cross-Region quota does not bind the base id", map[string]float64{"Cross-Region InvokeModel tokens per minute for Anthropic Claude 3 Haiku": 74000},
			haiku3, TokensPerMinute, 0, ""},
		{"older: on-demand model inference", map[string]float64{"On-demand model inference tokens per minute for Amazon Nova Lite": 200000},
			novaLite, TokensPerMinute, 200000, "On-demand model inference tokens per minute for Amazon Nova Lite"},
		{"older: cross-region with the version", map[string]float64{"Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4 V1": 200000},
			"eu." + sonnet4, TokensPerMinute, 200000, "Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4 V1"},
		{"older: Cross-Region spelled with a capital", map[string]float64{"Cross-Region model inference tokens per minute for Anthropic Claude Sonnet 4 V1": 150000},
			"us." + sonnet4, TokensPerMinute, 150000, "Cross-Region model inference tokens per minute for Anthropic Claude Sonnet 4 V1"},
		{"global profile, global quota", map[string]float64{"Global cross-region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1": 3000000,
			"Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1": 2000000},
			"global." + sonnet45, TokensPerMinute, 3000000, "Global cross-region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1"},
		{"global quota does not bind a geographic profile", map[string]float64{"Global cross-Region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1": 3000000},
			"us." + sonnet45, TokensPerMinute, 0, ""},
		{"global profile without a global quota: the cross-Region one", map[string]float64{"Cross-Region InvokeModel tokens per minute for Anthropic Claude Haiku 4.5": 400000},
			"global." + haiku45, TokensPerMinute, 400000, "Cross-Region InvokeModel tokens per minute for Anthropic Claude Haiku 4.5"},
		{"a longer name of another model does not bind", map[string]float64{"Global cross-region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1 1M Context Length": 1000000},
			"global." + sonnet45, TokensPerMinute, 0, ""},
		{"Claude 3 Sonnet is not Claude 3.5 Sonnet", map[string]float64{"On-demand model inference tokens per minute for Anthropic Claude 3 Sonnet": 1000},
			sonnet35, TokensPerMinute, 0, ""},
		{"Claude 3 Sonnet binds itself", map[string]float64{"On-demand model inference tokens per minute for Anthropic Claude 3 Sonnet": 1000},
			sonnet3, TokensPerMinute, 1000, "On-demand model inference tokens per minute for Anthropic Claude 3 Sonnet"},
		{"two generations at once: the smaller", map[string]float64{"On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku": 30000,
			"On-demand model inference tokens per minute for Anthropic Claude 3 Haiku": 50000},
			haiku3, TokensPerMinute, 30000, "On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku"},
		{"requests per minute", map[string]float64{"On-demand model inference requests per minute for Anthropic Claude 3 Haiku": 1000},
			haiku3, RequestsPerMinute, 1000, "On-demand model inference requests per minute for Anthropic Claude 3 Haiku"},
		{"cross-region requests per minute", map[string]float64{"Cross-region model inference requests per minute for Anthropic Claude Sonnet 4 V1": 200},
			"us." + sonnet4, RequestsPerMinute, 200, "Cross-region model inference requests per minute for Anthropic Claude Sonnet 4 V1"},
		{"user guide: tokens per day", map[string]float64{"Model invocation max tokens per day for Anthropic Claude 3 Haiku": 53280000},
			"us." + haiku3, TokensPerDay, 53280000, "Model invocation max tokens per day for Anthropic Claude 3 Haiku"},
		{"older: tokens per day, in one Region", map[string]float64{"Model invocation max tokens per day for Anthropic Claude Haiku 4.5 (doubled for cross-region calls)": 1000000},
			haiku45, TokensPerDay, 1000000, "Model invocation max tokens per day for Anthropic Claude Haiku 4.5 (doubled for cross-region calls)"},
		{"older: tokens per day, doubled for cross-Region calls", map[string]float64{"Model invocation max tokens per day for Anthropic Claude Haiku 4.5 (doubled for cross-region calls)": 1000000},
			"us." + haiku45, TokensPerDay, 2000000, "Model invocation max tokens per day for Anthropic Claude Haiku 4.5 (doubled for cross-region calls)"},
		{"global tokens per day", map[string]float64{"Global cross-region model inference tokens per day for Anthropic Claude Sonnet 4.5 V1": 4320000000},
			"global." + sonnet45, TokensPerDay, 4320000000, "Global cross-region model inference tokens per day for Anthropic Claude Sonnet 4.5 V1"},
		{"batch: records per job, by the model's short name", map[string]float64{"Records per batch inference job for Claude 3 Haiku": 1000},
			haiku3, RecordsPerJob, 1000, "Records per batch inference job for Claude 3 Haiku"},
		{"batch: records per job binds a profile too", map[string]float64{"Records per batch inference job for Claude 3 Haiku": 1000},
			"us." + haiku3, RecordsPerJob, 1000, "Records per batch inference job for Claude 3 Haiku"},
		{"batch: records per job of every model", map[string]float64{"Records per batch inference job": 20000},
			novaLite, RecordsPerJob, 20000, "Records per batch inference job"},
		{"batch: the model's own over every model's", map[string]float64{"Records per batch inference job": 20000, "Records per batch inference job for Nova Lite V1": 30000},
			novaLite, RecordsPerJob, 30000, "Records per batch inference job for Nova Lite V1"},
		{"batch: records per input file", map[string]float64{"Records per input file per batch inference job for Claude Sonnet 4": 50000},
			sonnet4, RecordsPerFile, 50000, "Records per input file per batch inference job for Claude Sonnet 4"},
		{"batch: minimum records", map[string]float64{"Minimum number of records per batch inference job for Claude 3.5 Sonnet": 100},
			sonnet35, MinRecordsPerJob, 100, "Minimum number of records per batch inference job for Claude 3.5 Sonnet"},
		{"batch: file size in GB, GB before the model", map[string]float64{"Batch inference input file size (in GB) for Claude 3 Haiku": 1},
			haiku3, FileBytes, 1_000_000_000, "Batch inference input file size (in GB) for Claude 3 Haiku"},
		{"batch: file size in GB, GB after the model", map[string]float64{"Batch inference input file size for Claude 3 Haiku (in GB)": 0.5},
			haiku3, FileBytes, 500_000_000, "Batch inference input file size for Claude 3 Haiku (in GB)"},
		{"batch: job size", map[string]float64{"Batch inference job size (in GB) for Claude 3.7 Sonnet": 5},
			"anthropic.claude-3-7-sonnet-20250219-v1:0", JobBytes, 5_000_000_000, "Batch inference job size (in GB) for Claude 3.7 Sonnet"},
		{"batch: jobs per model", map[string]float64{"Sum of in-progress and submitted batch inference jobs using a base model for Claude 3.5 Sonnet": 20},
			sonnet35, JobsPerModel, 20, "Sum of in-progress and submitted batch inference jobs using a base model for Claude 3.5 Sonnet"},
		{"names from ListFoundationModels, version 2 over no version", map[string]float64{"On-demand model inference tokens per minute for Acme Twin": 1,
			"On-demand model inference tokens per minute for Acme Twin V2": 2},
			twinV2, TokensPerMinute, 2, "On-demand model inference tokens per minute for Acme Twin V2"},
		{"names from ListFoundationModels, version 1 has no V1 quota", map[string]float64{"On-demand model inference tokens per minute for Acme Twin": 1,
			"On-demand model inference tokens per minute for Acme Twin V2": 2},
			twinV1, TokensPerMinute, 1, "On-demand model inference tokens per minute for Acme Twin"},
		{"a model no list names", map[string]float64{"On-demand model inference tokens per minute for Acme Unlisted": 5},
			notListed, TokensPerMinute, 0, ""},
		{"an ARN of a foundation model", map[string]float64{"On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku": 37000},
			"arn:aws:bedrock:us-east-1::foundation-model/" + haiku3, TokensPerMinute, 37000, "On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku"},
		{"an ARN of a system inference profile", map[string]float64{"Cross-Region InvokeModel tokens per minute for Anthropic Claude 3 Haiku": 74000},
			"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + haiku3, TokensPerMinute, 74000, "Cross-Region InvokeModel tokens per minute for Anthropic Claude 3 Haiku"},
		{"an unrelated quota", map[string]float64{"(Knowledge Bases) Rerank requests per second": 10},
			haiku3, RequestsPerMinute, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := account(tt.quotas).For(tt.model)
			got := map[Kind]Limit{TokensPerMinute: l.TokensPerMinute, RequestsPerMinute: l.RequestsPerMinute, TokensPerDay: l.TokensPerDay,
				RecordsPerJob: l.RecordsPerJob, RecordsPerFile: l.RecordsPerFile, MinRecordsPerJob: l.MinRecordsPerJob,
				FileBytes: l.FileBytes, JobBytes: l.JobBytes, JobsPerModel: l.JobsPerModel}[tt.kind]
			if got.Value != tt.want || got.Quota != tt.quota {
				t.Errorf("For(%s).%s = %+v, want %d from %q", tt.model, tt.kind, got, tt.want, tt.quota)
			}
		})
	}
}

func TestCrossModelTokensPerDay(t *testing.T) {
	a := account(map[string]float64{"Cross-Model Max Tokens Per Day": 720000000, "Model invocation max tokens per day for Anthropic Claude 3 Haiku": 1000})
	if got := a.CrossModelTokensPerDay(); got.Value != 720000000 || got.Quota != "Cross-Model Max Tokens Per Day" {
		t.Errorf("CrossModelTokensPerDay = %+v", got)
	}
	if got := a.For(haiku3).TokensPerDay.Value; got != 1000 {
		t.Errorf("the model's own daily quota is %d, want 1000 (the account's is apart)", got)
	}
	if got := account(nil).CrossModelTokensPerDay(); got.Known() {
		t.Errorf("no quota: %+v", got)
	}
}

// TestTemplates: every template of names.json is whole, and no two read the
// same name.
func TestTemplates(t *testing.T) {
	kinds := map[Kind]bool{TokensPerMinute: true, RequestsPerMinute: true, TokensPerDay: true, AccountTokensPerDay: true, RecordsPerJob: true,
		RecordsPerFile: true, MinRecordsPerJob: true, FileBytes: true, JobBytes: true, JobsPerModel: true}
	seen := map[string]bool{}
	for _, tm := range templates() {
		if !kinds[tm.Kind] || tm.Source == "" {
			t.Errorf("%q: kind %q, source %q", tm.Name, tm.Kind, tm.Source)
		}
		switch tm.Scope {
		case scopeAny, scopeInRegion, scopeCrossRegion, scopeGlobal:
		default:
			t.Errorf("%q: scope %q", tm.Name, tm.Scope)
		}
		if seen[normalize(tm.Name)] {
			t.Errorf("%q is listed twice", tm.Name)
		}
		seen[normalize(tm.Name)] = true
		// Each template reads its own name with a model in it.
		name := tm.Name
		if tm.perModel {
			name = strings.Replace(tm.Name, modelPlaceholder, "Acme Model", 1)
		}
		got, model, ok := match(name)
		if !ok || got != tm || (tm.perModel && model != "acme model") {
			t.Errorf("%q read as %+v, model %q", name, got, model)
		}
	}
}

func TestDerivedNames(t *testing.T) {
	for _, tt := range []struct {
		id, provider, name string
		want               []string
	}{
		{"acme.twin-v2:0", "Acme", "Twin", []string{"Acme Twin V2", "Twin V2", "Acme Twin", "Twin"}},
		{"amazon.nova-pro-v1:0", "Amazon", "Nova Pro", []string{"Amazon Nova Pro V1", "Nova Pro V1", "Amazon Nova Pro", "Nova Pro"}},
		{"openai.gpt-oss-20b-1:0", "OpenAI", "gpt-oss-20b", []string{"OpenAI gpt-oss-20b", "gpt-oss-20b"}},
		{"meta.llama3-8b-instruct-v1:0", "Meta", "Meta Llama 3 8B Instruct", []string{"Meta Llama 3 8B Instruct V1", "Meta Llama 3 8B Instruct"}},
		{"x.y-v1:0", "X", "", nil},
	} {
		if got := derivedNames(tt.id, tt.provider, tt.name); !slices.Equal(got, tt.want) {
			t.Errorf("derivedNames(%q, %q, %q) = %q, want %q", tt.id, tt.provider, tt.name, got, tt.want)
		}
	}
}

func TestModels(t *testing.T) {
	a := account(map[string]float64{"On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku": 1, "Records per batch inference job": 5})
	models := a.Models()
	want := map[string]bool{haiku3: true, "us." + haiku3: true, "global." + haiku3: true}
	for _, m := range models {
		delete(want, m)
		if m == novaLite {
			t.Errorf("%s has no quota of its own, yet is listed", m)
		}
	}
	if len(want) > 0 {
		t.Errorf("Models() = %q, missing %v", models, want)
	}
}
