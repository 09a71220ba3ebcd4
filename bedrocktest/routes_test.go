package bedrocktest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// Every operation is reached by its method and path alone, a model id arrives unescaped
// exactly as the caller named it (':' and '/' included), and anything else is a 404
// UnknownOperationException counted in Stats.Requests only.
func TestRouting(t *testing.T) {
	const profileARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
	const jobARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghijkl"
	sdkEscaped := strings.NewReplacer(":", "%3A", "/", "%2F").Replace(profileARN) // as smithy's httpbinding escapes a path label
	const body = `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`

	// What a request reached: the handler's answer, and which counter or observation moved.
	const (
		converse    = "converse"
		stream      = "converse-stream"
		countTokens = "count-tokens"
		control     = "control plane"
		unknown     = "unknown"
	)
	tests := []struct {
		name, method, path, body string
		want                     string // the handler reached
		modelID                  string // for converse and stream: the model id observed
		status                   int
		errorType                string
	}{
		{"converse", "POST", "/model/" + testModel + "/converse", body, converse, testModel, 200, ""},
		{"converse ARN as the SDK escapes it", "POST", "/model/" + sdkEscaped + "/converse", body, converse, profileARN, 200, ""},
		{"converse ARN with only its slash escaped", "POST", "/model/" + url.PathEscape(profileARN) + "/converse", body, converse, profileARN, 200, ""},
		{"stream ARN", "POST", "/model/" + sdkEscaped + "/converse-stream", body, stream, profileARN, 200, ""},
		{"count tokens ARN", "POST", "/model/" + sdkEscaped + "/count-tokens", `{"input":{"converse":` + body + `}}`, countTokens, "", 200, ""},
		{"list jobs", "GET", "/model-invocation-jobs", "", control, "", 200, ""},
		{"get job by escaped ARN", "GET", "/model-invocation-job/" + url.PathEscape(jobARN), "", control, "", 404, "ResourceNotFoundException"},
		{"get job by id", "GET", "/model-invocation-job/abcdefghijkl", "", control, "", 404, "ResourceNotFoundException"},
		{"get job by a bad identifier", "GET", "/model-invocation-job/not-a-job", "", control, "", 400, "ValidationException"},
		{"stop job", "POST", "/model-invocation-job/abcdefghijkl/stop", "", control, "", 404, "ResourceNotFoundException"},
		{"create job", "POST", "/model-invocation-job", "{}", control, "", 400, "ValidationException"},

		{"InvokeModel", "POST", "/model/" + testModel + "/invoke", body, unknown, "", 404, errUnknownOperation},
		{"GET converse", "GET", "/model/" + testModel + "/converse", "", unknown, "", 404, errUnknownOperation},
		{"unescaped slash in a model id", "POST", "/model/" + profileARN + "/converse", body, unknown, "", 404, errUnknownOperation},
		{"empty model id", "POST", "/model//converse", body, unknown, "", 404, errUnknownOperation},
		{"dot segment", "POST", "/model/" + testModel + "/./converse", body, unknown, "", 404, errUnknownOperation},
		{"root", "GET", "/", "", unknown, "", 404, errUnknownOperation},
		{"GET create job", "GET", "/model-invocation-job", "", unknown, "", 404, errUnknownOperation},
		{"unknown job action", "POST", "/model-invocation-job/abcdefghijkl/start", "", unknown, "", 404, errUnknownOperation},
	}
	var obs observer
	srv, _ := newServer(t, Options{Observe: obs.observe, Models: []string{testModel, profileARN}})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeBatch, seen := srv.Stats(), srv.BatchStats(), len(obs.all())
			req, err := http.NewRequestWithContext(testCtx(t), tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("X-Amzn-Errortype") != tt.errorType {
				t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), tt.status, tt.errorType)
			}

			after, observed := srv.Stats(), obs.all()[seen:]
			requests, counted := after.Requests-before.Requests, after.CountTokens-before.CountTokens
			jobCalls := srv.BatchStats().JobsRejected - beforeBatch.JobsRejected
			switch tt.want {
			case converse, stream:
				if requests != 1 || len(observed) != 1 || observed[0].ModelID != tt.modelID || observed[0].Stream != (tt.want == stream) {
					var calls []string
					for _, o := range observed {
						calls = append(calls, fmt.Sprintf("%q stream=%v", o.ModelID, o.Stream))
					}
					t.Errorf("%d requests, observed %v; want one %s call of model %q", requests, calls, tt.want, tt.modelID)
				}
			case countTokens:
				if counted != 1 || requests != 0 || len(observed) != 0 {
					t.Errorf("%d CountTokens, %d requests, %d observed; want one CountTokens alone", counted, requests, len(observed))
				}
			case control: // counted apart, in BatchStats (JobsRejected for a create)
				if requests != 0 || counted != 0 || len(observed) != 0 || (tt.path == "/model-invocation-job") != (jobCalls == 1) {
					t.Errorf("%d requests, %d CountTokens, %d observed, %d jobs refused; want the control plane alone", requests, counted, len(observed), jobCalls)
				}
			case unknown:
				if requests != 1 || counted != 0 || len(observed) != 0 || jobCalls != 0 {
					t.Errorf("%d requests, %d CountTokens, %d observed, %d jobs refused; want one unknown request", requests, counted, len(observed), jobCalls)
				}
			}
		})
	}
}

// The SDK's CountTokens reaches its handler with an ARN model id unescaped: the model is known
// only by that exact id.
func TestCountTokensModelID(t *testing.T) {
	const arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"
	srv, client := newServer(t, Options{Models: []string{arn}})
	in := &bedrockruntime.CountTokensInput{ModelId: aws.String(arn), Input: &types.CountTokensInputMemberConverse{
		Value: types.ConverseTokensRequest{Messages: []types.Message{userText("three words here")}}}}
	out, err := client.CountTokens(testCtx(t), in)
	if err != nil || aws.ToInt32(out.InputTokens) != 3 {
		t.Fatalf("CountTokens = %+v, %v; want 3 tokens", out, err)
	}
	in.ModelId = aws.String(strings.Replace(arn, "/", "-", 1))
	_, err = client.CountTokens(testCtx(t), in)
	expectAPIError(t, err, "ResourceNotFoundException", "model identifier")
	if s := srv.Stats(); s.CountTokens != 1 || s.Requests != 0 {
		t.Errorf("Stats = %+v, want 1 CountTokens and no requests", s)
	}
}

func TestCleanPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/": true, "/model/m/converse": true, "/model/a%2Fb/converse": true, "/model-invocation-jobs/": true,
		"": false, "model/m/converse": false, "/model//converse": false, "/model/./converse": false,
		"/model/m/../converse": false, "/model/m/converse/.": false, "/model/.m/converse": true, "/model/m./converse": true,
		"/model/m/.": false, "/model/m/..": false, "/a//": false,
	} {
		if got := cleanPath(p); got != want {
			t.Errorf("cleanPath(%q) = %v, want %v", p, got, want)
		}
	}
}
