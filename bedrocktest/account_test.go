package bedrocktest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	bedrockctl "github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	sqtypes "github.com/aws/aws-sdk-go-v2/service/servicequotas/types"
)

const haiku = "anthropic.claude-3-haiku-20240307-v1:0"

// quotaClient is the real Service Quotas client, pointed at url.
func quotaClient(url string) *servicequotas.Client {
	return servicequotas.New(servicequotas.Options{BaseEndpoint: aws.String(url), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), Retryer: aws.NopRetryer{}})
}

// controlClient is the real Bedrock control-plane client, pointed at url.
func controlClient(url string) *bedrockctl.Client {
	return bedrockctl.New(bedrockctl.Options{BaseEndpoint: aws.String(url), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), Retryer: aws.NopRetryer{}})
}

// listQuotas reads every page of the emulator's Bedrock quotas, pageSize at a time.
func listQuotas(t *testing.T, url string, pageSize int32) (map[string]float64, error) {
	t.Helper()
	client := quotaClient(url)
	got := map[string]float64{}
	var token *string
	for pages := 0; ; pages++ {
		out, err := client.ListServiceQuotas(testCtx(t), &servicequotas.ListServiceQuotasInput{ServiceCode: aws.String("bedrock"), NextToken: token, MaxResults: aws.Int32(pageSize)})
		if err != nil {
			return nil, err
		}
		for _, q := range out.Quotas {
			if aws.ToString(q.ServiceCode) != "bedrock" || !strings.HasPrefix(aws.ToString(q.QuotaCode), "L-") {
				t.Errorf("quota %+v", q)
			}
			got[aws.ToString(q.QuotaName)] = aws.ToFloat64(q.Value)
		}
		if token = out.NextToken; token == nil {
			return got, nil
		}
		if pages > 100 {
			t.Fatal("pages never end")
		}
	}
}

// TestListServiceQuotas: the account's quotas, under the names of each generation, through the
// SDK's Service Quotas client, page by page.
func TestListServiceQuotas(t *testing.T) {
	account := AccountQuotas{CrossModelTokensPerDay: 720_000_000, Models: map[string]ModelQuotas{
		haiku:                   {TokensPerMinute: 37_000, CrossRegionTokensPerMinute: 74_000, TokensPerDay: 53_280_000, RecordsPerJob: 1000, JobsPerModel: 2, FileBytes: 500_000_000},
		"amazon.nova-lite-v1:0": {TokensPerMinute: 200_000, GlobalTokensPerMinute: 400_000, MinRecordsPerJob: 100},
	}}
	for _, tt := range []struct {
		names QuotaNames
		want  map[string]float64
	}{
		{NamesInvokeModel, map[string]float64{
			"Cross-Model Max Tokens Per Day":                                                              720_000_000,
			"On-demand InvokeModel tokens per minute for Anthropic Claude 3 Haiku":                        37_000,
			"Cross-Region InvokeModel tokens per minute for Anthropic Claude 3 Haiku":                     74_000,
			"Model invocation max tokens per day for Anthropic Claude 3 Haiku":                            53_280_000,
			"Records per batch inference job for Claude 3 Haiku":                                          1000,
			"Sum of in-progress and submitted batch inference jobs using a base model for Claude 3 Haiku": 2,
			"Batch inference input file size (in GB) for Claude 3 Haiku":                                  0.5,
			"On-demand InvokeModel tokens per minute for Amazon Nova Lite":                                200_000,
			"Global cross-Region model inference tokens per minute for Amazon Nova Lite":                  400_000,
			"Minimum number of records per batch inference job for Nova Lite":                             100,
			"(Knowledge Bases) Rerank requests per second":                                                10,
			"Model units per provisioned model for Anthropic Claude Instant V1 100K":                      1,
		}},
		{NamesModelInference, map[string]float64{
			"On-demand model inference tokens per minute for Anthropic Claude 3 Haiku":                          37_000,
			"Cross-region model inference tokens per minute for Anthropic Claude 3 Haiku":                       74_000,
			"Model invocation max tokens per day for Anthropic Claude 3 Haiku (doubled for cross-region calls)": 53_280_000,
			"Global cross-region model inference tokens per minute for Amazon Nova Lite":                        400_000,
		}},
	} {
		a := account
		a.Names = tt.names
		srv := NewServer(Options{Account: &a})
		got, err := listQuotas(t, srv.URL, 3)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		for name, value := range tt.want {
			if v, ok := got[name]; !ok || v != value {
				t.Errorf("names %d: %q = %v (listed %v), want %v", tt.names, name, v, ok, value)
			}
		}
	}
}

func TestListServiceQuotasDenied(t *testing.T) {
	srv := NewServer(Options{Account: &AccountQuotas{Denied: true}})
	defer srv.Close()
	_, err := listQuotas(t, srv.URL, 100)
	var denied *sqtypes.AccessDeniedException
	if !errors.As(err, &denied) || !strings.Contains(denied.ErrorMessage(), "servicequotas:ListServiceQuotas") {
		t.Fatalf("err = %v, want AccessDeniedException naming the action", err)
	}
}

func TestListServiceQuotasWithoutAccount(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Close()
	got, err := listQuotas(t, srv.URL, 100)
	if err != nil {
		t.Fatal(err)
	}
	for name := range got {
		if strings.Contains(name, "tokens per minute") {
			t.Errorf("an emulator with no account lists %q", name)
		}
	}
}

// TestModelCatalog: ListFoundationModels and GetInferenceProfile name the models as the
// control plane does, through the SDK's client.
func TestModelCatalog(t *testing.T) {
	srv := NewServer(Options{Account: &AccountQuotas{
		Models:              map[string]ModelQuotas{"acme.twin-v2:0": {Provider: "Acme", Name: "Twin", TokensPerMinute: 1}},
		ApplicationProfiles: map[string]string{"abcdef123456": "us." + haiku, "local0000001": haiku}}})
	defer srv.Close()
	client := controlClient(srv.URL)
	out, err := client.ListFoundationModels(testCtx(t), &bedrockctl.ListFoundationModelsInput{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, m := range out.ModelSummaries {
		names[aws.ToString(m.ModelId)] = aws.ToString(m.ProviderName) + " / " + aws.ToString(m.ModelName)
	}
	for id, want := range map[string]string{haiku: "Anthropic / Claude 3 Haiku", "amazon.nova-pro-v1:0": "Amazon / Nova Pro", "acme.twin-v2:0": "Acme / Twin"} {
		if names[id] != want {
			t.Errorf("%s: %q, want %q", id, names[id], want)
		}
	}
	for _, tt := range []struct {
		ident, kind string
		regions     int
	}{
		{"us." + haiku, "SYSTEM_DEFINED", 3},
		{"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdef123456", "APPLICATION", 3},
		{"abcdef123456", "APPLICATION", 3},
		{"local0000001", "APPLICATION", 1},
	} {
		p, err := client.GetInferenceProfile(testCtx(t), &bedrockctl.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String(tt.ident)})
		if err != nil {
			t.Errorf("%s: %v", tt.ident, err)
			continue
		}
		if string(p.Type) != tt.kind || len(p.Models) != tt.regions || !strings.HasSuffix(aws.ToString(p.Models[0].ModelArn), "foundation-model/"+haiku) {
			t.Errorf("%s: type %s, models %d (%v)", tt.ident, p.Type, len(p.Models), p.Models)
		}
	}
	if _, err := client.GetInferenceProfile(testCtx(t), &bedrockctl.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String(haiku)}); err == nil {
		t.Error("a base model id is an inference profile")
	}
}

// TestAccountQuotasEnforced: calls are held to what ListServiceQuotas reports: each way of
// calling a model has its own tokens per minute, the model's day counts every way together,
// and the account's day every model.
func TestAccountQuotasEnforced(t *testing.T) {
	// 600 tokens a minute over a 6 s burst: a bucket of 60 tokens. A call reserves 2 input
	// tokens and 50 maxTokens, so one fits a full bucket and a second does not; it settles to
	// 2 + the answer's 11 = 13. The model's day of 70 holds two calls' 26 and one more
	// reservation of 52, not two.
	srv, client := newServer(t, Options{QuotaBurst: 6 * time.Second, Account: &AccountQuotas{
		CrossModelTokensPerDay: 1000,
		Models: map[string]ModelQuotas{
			haiku:                   {TokensPerMinute: 600, CrossRegionTokensPerMinute: 600, TokensPerDay: 70},
			"amazon.nova-lite-v1:0": {TokensPerMinute: 60_000},
		}}})
	call := func(model string) error {
		in := &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: []types.Message{userText("quota please")},
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(50)}}
		_, err := client.Converse(testCtx(t), in)
		return err
	}
	throttled := func(err error, what string) {
		t.Helper()
		var te *types.ThrottlingException
		if !errors.As(err, &te) || !strings.Contains(te.ErrorMessage(), what) {
			t.Errorf("err = %v, want throttling for %s", err, what)
		}
	}
	if err := call(haiku); err != nil {
		t.Fatal(err)
	}
	throttled(call(haiku), "tokens-per-minute")
	// The profile has a bucket of its own...
	if err := call("us." + haiku); err != nil {
		t.Fatalf("the cross-Region call shares the in-Region bucket: %v", err)
	}
	// ...and so has the global one, but the model's day is one for all.
	throttled(call("global."+haiku), "per day")
	// Another model runs within the account's day.
	for i := range 3 {
		if err := call("amazon.nova-lite-v1:0"); err != nil {
			t.Fatalf("nova call %d: %v", i, err)
		}
	}
	st := srv.Stats()
	t.Logf("stats %+v", st)
	if st.Throttled != 2 {
		t.Errorf("%d calls throttled, want 2", st.Throttled)
	}
}

// TestAccountDayAcrossModels: the account's daily tokens count every model together.
func TestAccountDayAcrossModels(t *testing.T) {
	const day, maxTokens = 60, 30
	_, client := newServer(t, Options{Account: &AccountQuotas{CrossModelTokensPerDay: day}})
	settles := 1 + CountTokens(Answer("day")) // one input token and the answer
	used, ok, refused := int64(0), 0, 0
	for i, model := range []string{haiku, "amazon.nova-lite-v1:0", "us." + haiku, "amazon.nova-pro-v1:0", haiku, haiku, haiku, haiku} {
		in := &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: []types.Message{userText("day")},
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(maxTokens)}}
		_, err := client.Converse(testCtx(t), in)
		fits := used+1+maxTokens <= day
		var te *types.ThrottlingException
		switch {
		case fits && err == nil:
			used += settles
			ok++
		case !fits && errors.As(err, &te) && te.ErrorMessage() == msgThrottledTPD:
			refused++
		default:
			t.Fatalf("call %d (%s) with %d of %d used: %v", i, model, used, day, err)
		}
	}
	if ok < 2 || refused == 0 {
		t.Fatalf("%d calls ok, %d refused: the day should admit some and refuse the rest", ok, refused)
	}
}

// TestDoubledForCrossRegion: with the older names, whose daily quota is "doubled for
// cross-region calls", a cross-Region call may use twice the model's day.
func TestDoubledForCrossRegion(t *testing.T) {
	for _, tt := range []struct {
		names  QuotaNames
		wantOK bool
	}{{NamesInvokeModel, false}, {NamesModelInference, true}} {
		_, client := newServer(t, Options{Account: &AccountQuotas{Names: tt.names, Models: map[string]ModelQuotas{haiku: {TokensPerDay: 40}}}})
		in := &bedrockruntime.ConverseInput{ModelId: aws.String("us." + haiku), Messages: []types.Message{userText("double")},
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(60)}}
		_, err := client.Converse(testCtx(t), in) // reserves 61: over 40, within 80
		if (err == nil) != tt.wantOK {
			t.Errorf("names %d: a cross-Region call of 61 tokens against a day of 40: %v", tt.names, err)
		}
	}
}

func TestParseModelQuotas(t *testing.T) {
	id, q, err := ParseModelQuotas(haiku + ":tpm=37000,cross-region-tpm=74000,tpd=100,records-per-job=1000,jobs=2,file-bytes=500")
	want := ModelQuotas{TokensPerMinute: 37000, CrossRegionTokensPerMinute: 74000, TokensPerDay: 100, RecordsPerJob: 1000, JobsPerModel: 2, FileBytes: 500}
	if err != nil || id != haiku || q != want {
		t.Errorf("ParseModelQuotas = %q, %+v, %v", id, q, err)
	}
	for _, bad := range []string{haiku, haiku + ":tpm=x", haiku + ":speed=3", ":tpm=1"} {
		if _, _, err := ParseModelQuotas(bad); err == nil {
			t.Errorf("ParseModelQuotas(%q) took it", bad)
		}
	}
}
