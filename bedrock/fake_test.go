package bedrock_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
)

// fake is a tiny Bedrock Runtime of a test's own: it records every request
// body and answers with what the test's handler writes. It tests the client
// against exact bytes, independent of the emulator.
type fake struct {
	URL    string
	mu     sync.Mutex
	bodies map[string][]byte // last body by path
	calls  int
}

// newFake starts a fake answering with answer (given the request path and
// body); it is closed when the test ends.
func newFake(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body []byte)) *fake {
	t.Helper()
	f := &fake{bodies: map[string][]byte{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		f.mu.Lock()
		f.bodies[r.URL.Path] = body
		f.calls++
		f.mu.Unlock()
		answer(w, r, body)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// body is the last request body sent to path.
func (f *fake) body(path string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[path]
}

func (f *fake) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// client returns a Client calling f, streaming or not.
func (f *fake) client(stream bool) *bedrock.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	return bedrock.New(cfg, bedrock.Options{Endpoint: f.URL, Stream: stream})
}

// answerJSON answers every call with a 200 and body.
func answerJSON(body string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}
}

// event is one event-stream message: an event of type name, or with
// exception set an exception of that type.
type event struct {
	name      string
	payload   string
	exception bool
}

// writeEvents writes events as an event stream, flushing after each.
func writeEvents(w http.ResponseWriter, events []event) error {
	enc := eventstream.NewEncoder()
	for _, e := range events {
		var msg eventstream.Message
		if e.exception {
			msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
			msg.Headers.Set(":exception-type", eventstream.StringValue(e.name))
		} else {
			msg.Headers.Set(":message-type", eventstream.StringValue("event"))
			msg.Headers.Set(":event-type", eventstream.StringValue(e.name))
		}
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Payload = []byte(e.payload)
		if err := enc.Encode(w, msg); err != nil {
			return err
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			return err
		}
	}
	return nil
}

// answerStream answers every call with a 200 event stream of events.
func answerStream(events ...event) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		writeEvents(w, events)
	}
}

// textStream is a whole stream answering text in the given chunks.
func textStream(chunks ...string) []event {
	events := []event{{name: "messageStart", payload: `{"role":"assistant"}`}}
	for _, c := range chunks {
		events = append(events, event{name: "contentBlockDelta", payload: `{"contentBlockIndex":0,"delta":{"text":` + quote(c) + `}}`})
	}
	return append(events,
		event{name: "contentBlockStop", payload: `{"contentBlockIndex":0}`},
		event{name: "messageStop", payload: `{"stopReason":"end_turn"}`},
		event{name: "metadata", payload: `{"usage":{"inputTokens":5,"outputTokens":7,"totalTokens":12},"metrics":{"latencyMs":42}}`})
}

// quote is s as a JSON string.
func quote(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// answerOK answers each operation with a small success: Converse with
// okConverse, ConverseStream with a whole text stream, CountTokens with 42.
func answerOK(w http.ResponseWriter, r *http.Request, body []byte) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/converse-stream"):
		answerStream(textStream("ok")...)(w, r, body)
	case strings.HasSuffix(r.URL.Path, "/count-tokens"):
		answerJSON(`{"inputTokens":42}`)(w, r, body)
	default:
		answerJSON(okConverse)(w, r, body)
	}
}
