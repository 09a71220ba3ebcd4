package bedrocktest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func TestClaudeBurndown(t *testing.T) {
	tests := []struct {
		id   string
		want float64
	}{
		{"anthropic.claude-3-7-sonnet-20250219-v1:0", 5},
		{"us.anthropic.claude-3-7-sonnet-20250219-v1:0", 5},
		{"anthropic.claude-sonnet-4-20250514-v1:0", 5},
		{"eu.anthropic.claude-sonnet-4-20250514-v1:0", 5},
		{"anthropic.claude-opus-4-20250514-v1:0", 5},
		{"anthropic.claude-opus-4-1-20250805-v1:0", 5},
		{"global.anthropic.claude-sonnet-4-5-20250929-v1:0", 5},
		{"apac.anthropic.claude-haiku-4-5-20251001-v1:0", 5},
		{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-1-20250805-v1:0", 5},
		{"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0", 5},
		{"anthropic.claude-3-5-sonnet-20241022-v2:0", 1},
		{"us.anthropic.claude-3-5-haiku-20241022-v1:0", 1},
		{"anthropic.claude-3-haiku-20240307-v1:0", 1},
		{"anthropic.claude-v2:1", 1},
		{"amazon.nova-pro-v1:0", 1},
		{"meta.llama3-1-70b-instruct-v1:0", 1},
		{"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6", 1},
	}
	for _, tt := range tests {
		if got := ClaudeBurndown(tt.id); got != tt.want {
			t.Errorf("ClaudeBurndown(%q) = %g, want %g", tt.id, got, tt.want)
		}
	}
}

func TestBaseModelID(t *testing.T) {
	tests := []struct{ id, want string }{
		{"anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"},
		{"us.anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"},
		{"us-gov.anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"},
		{"arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"},
		{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"},
		{"amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"},
	}
	for _, tt := range tests {
		if got := baseModelID(tt.id); got != tt.want {
			t.Errorf("baseModelID(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestModelRules(t *testing.T) {
	const (
		sonnet4  = "anthropic.claude-sonnet-4-20250514-v1:0"
		sonnet45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	)
	opts := Options{
		NeedsInferenceProfile: []string{sonnet4},
		TemperatureXorTopP:    []string{sonnet45},
		MaxOutputTokens:       map[string]int32{testModel: 4096, "us." + sonnet45: 64000},
	}
	tests := []struct {
		name     string
		model    string
		config   *types.InferenceConfiguration
		contains string // "" = accepted
	}{
		{"base id needs a profile", sonnet4, nil,
			"Invocation of model ID anthropic.claude-sonnet-4-20250514-v1:0 with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model."},
		{"the profile is accepted", "us." + sonnet4, nil, ""},
		{"temperature and topP", "global." + sonnet45, &types.InferenceConfiguration{Temperature: aws.Float32(0.5), TopP: aws.Float32(0.9)},
			"The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. Please use only one."},
		{"temperature alone", sonnet45, &types.InferenceConfiguration{Temperature: aws.Float32(0.5)}, ""},
		{"both on a model that allows it", testModel, &types.InferenceConfiguration{Temperature: aws.Float32(0), TopP: aws.Float32(1)}, ""},
		{"max tokens above the limit", testModel, &types.InferenceConfiguration{MaxTokens: aws.Int32(4097)},
			"The maximum tokens you requested exceeds the model limit of 4096. Try again with a maximum tokens value that is lower than 4096."},
		{"max tokens at the limit", testModel, &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)}, ""},
		{"limit of a profile id", "us." + sonnet45, &types.InferenceConfiguration{MaxTokens: aws.Int32(64001)}, "model limit of 64000."},
		{"limit on a base id covers its profiles", "eu." + testModel, &types.InferenceConfiguration{MaxTokens: aws.Int32(5000)}, "model limit of 4096."},
	}
	srv, client := newServer(t, opts)
	invalid := int64(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(tt.model),
				Messages: []types.Message{userText("hi")}, InferenceConfig: tt.config})
			if tt.contains == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			invalid++
			expectAPIError(t, err, "ValidationException", tt.contains)
		})
	}
	if got := srv.Stats(); got.Invalid != invalid || got.OK != int64(len(tests))-invalid {
		t.Errorf("stats %+v, want %d invalid", got, invalid)
	}
}

func TestModelQuotas(t *testing.T) {
	// Defaults: 120 RPM over a 1 s burst, 2 requests per model; "small" has 1.
	srv, client := newServer(t, Options{RequestsPerMinute: 120, QuotaBurst: time.Second,
		ModelQuotas: map[string]Quota{"small": {RequestsPerMinute: 60}}})
	tests := []struct {
		model         string
		ok, throttled int64
	}{{testModel, 2, 1}, {"small", 1, 2}, {"us." + testModel, 2, 1}}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			for range tt.ok + tt.throttled {
				_, _ = client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(tt.model), Messages: []types.Message{userText("hi")}})
			}
			if got := srv.ModelStats()[tt.model]; got.OK != tt.ok || got.Throttled != tt.throttled || got.Requests != tt.ok+tt.throttled {
				t.Errorf("ModelStats = %+v, want %d ok %d throttled", got, tt.ok, tt.throttled)
			}
		})
	}
	if s := srv.Stats(); s.Throttled != 4 || s.OK != 5 {
		t.Errorf("Stats %+v: want 5 ok and 4 throttled over all models", s)
	}
}

func TestQuotaSettlement(t *testing.T) {
	const claude4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"
	const prompt = "settle me"
	answer := CountTokens(Answer(prompt))
	system := []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "a system prompt of seven words here"},
		&types.SystemContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault}}}
	tests := []struct {
		name   string
		model  string
		system []types.SystemContentBlock
		stream bool
		want   int64 // quota tokens settled
	}{
		{"1x model", testModel, nil, false, 2 + answer},
		{"5x model", claude4, nil, false, 2 + 5*answer},
		{"5x model, stream", claude4, nil, true, 2 + 5*answer},
		{"cache write counts", claude4, system, false, 2 + 7 + 5*answer},
		{"cache read does not", claude4, system, true, 2 + 5*answer},
	}
	srv, client := newServer(t, Options{TokensPerMinute: 1 << 30, Burndown: ClaudeBurndown, CacheMinTokens: 1})
	settled := map[string]int64{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := []types.Message{userText(prompt)}
			if tt.stream {
				out, err := client.ConverseStream(testCtx(t), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(tt.model), System: tt.system, Messages: msgs})
				if err != nil {
					t.Fatal(err)
				}
				if r := readStream(t, out); r.err != nil || !r.gotMetadata {
					t.Fatalf("stream: %v", r.err)
				}
			} else if _, err := client.Converse(testCtx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(tt.model), System: tt.system, Messages: msgs}); err != nil {
				t.Fatal(err)
			}
			settled[tt.model] += tt.want
			// The settlement runs as the handler returns, just after the client has its answer.
			deadline := time.Now().Add(5 * time.Second)
			for srv.ModelStats()[tt.model].QuotaTokensSettled != settled[tt.model] && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if got := srv.ModelStats()[tt.model].QuotaTokensSettled; got != settled[tt.model] {
				t.Errorf("QuotaTokensSettled = %d, want %d", got, settled[tt.model])
			}
		})
	}
}

func TestTokensPerDay(t *testing.T) {
	const prompt = "a b" // 2 input tokens; the answer has 11
	call := func(t *testing.T, client *bedrockruntime.Client, maxTokens *int32) error {
		in := converseInput(prompt)
		if maxTokens != nil {
			in.InferenceConfig = &types.InferenceConfiguration{MaxTokens: maxTokens}
		}
		_, err := client.Converse(testCtx(t), in)
		return err
	}
	tests := []struct {
		name      string
		opts      Options
		maxTokens *int32
		wantOK    int // calls admitted before the day is spent
	}{
		// Each call reserves 2+20 and settles to 2+11: the k-th call fits while 13k+22 <= 100.
		{"settled plus reserved", Options{TokensPerDay: 100}, aws.Int32(20), 7},
		// Output burns down twice as fast: 2+22 settled per call.
		{"with burndown", Options{TokensPerDay: 100, Burndown: func(string) float64 { return 2 }}, aws.Int32(20), 4},
		// No maxTokens: DefaultMaxTokens is reserved.
		{"default max tokens", Options{TokensPerDay: 410, DefaultMaxTokens: 400}, nil, 1},
		{"the package default reserves 4096", Options{TokensPerDay: 4098}, nil, 1},
		{"a model quota", Options{TokensPerDay: 1, ModelQuotas: map[string]Quota{testModel: {TokensPerDay: 100}}}, aws.Int32(20), 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, client := newServer(t, tt.opts)
			ok := 0
			for ; ok < 50; ok++ {
				if err := call(t, client, tt.maxTokens); err != nil {
					expectAPIError(t, err, "ThrottlingException", "Too many tokens per day, please wait before trying again.")
					break
				}
			}
			if ok != tt.wantOK {
				t.Errorf("%d calls admitted, want %d", ok, tt.wantOK)
			}
			srv.ResetDay()
			if err := call(t, client, tt.maxTokens); err != nil {
				t.Errorf("after ResetDay: %v", err)
			}
			if got, want := srv.ModelStats()[testModel], (ModelStats{Requests: int64(ok) + 2, OK: int64(ok) + 1, Throttled: 1}); got.Requests != want.Requests || got.OK != want.OK || got.Throttled != want.Throttled {
				t.Errorf("ModelStats = %+v, want %+v", got, want)
			}
		})
	}
}

// TestTokensPerDayInFlight checks that reservations of calls still running count toward the
// day: four of five concurrent calls fit in 100 tokens at 22 each.
func TestTokensPerDayInFlight(t *testing.T) {
	srv, client := newServer(t, Options{TokensPerDay: 100, Latency: 500 * time.Millisecond})
	in := converseInput("a b")
	in.InferenceConfig = &types.InferenceConfiguration{MaxTokens: aws.Int32(20)}
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() {
			_, err := client.Converse(testCtx(t), in)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	var failed []error
	for err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) != 1 {
		t.Fatalf("%d calls failed, want 1: %v", len(failed), failed)
	}
	expectAPIError(t, failed[0], "ThrottlingException", "Too many tokens per day")
	if s := srv.Stats(); s.OK != 4 || s.Throttled != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestTokensPerDayClock lets a short day run out on the wall clock, with a generous margin.
func TestTokensPerDayClock(t *testing.T) {
	const day = 500 * time.Millisecond
	_, client := newServer(t, Options{TokensPerDay: 30, DayLength: day})
	in := converseInput("a b")
	in.InferenceConfig = &types.InferenceConfiguration{MaxTokens: aws.Int32(20)}
	steps := []struct {
		sleep time.Duration
		ok    bool
	}{{0, true}, {0, false}, {2 * day, true}}
	for i, s := range steps {
		time.Sleep(s.sleep)
		_, err := client.Converse(testCtx(t), in)
		if (err == nil) != s.ok {
			t.Errorf("call %d: err %v, want ok %v", i, err, s.ok)
		}
	}
}

func ExampleClaudeBurndown() {
	fmt.Println(ClaudeBurndown("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), ClaudeBurndown("anthropic.claude-3-5-haiku-20241022-v1:0"))
	// Output: 5 1
}
