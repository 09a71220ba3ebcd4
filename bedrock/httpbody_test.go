package bedrock

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// closingBody fails every read once closed, as the SDK's request body does.
type closingBody struct {
	r      io.Reader
	closed bool
}

func (b *closingBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("read after close")
	}
	return b.r.Read(p)
}

func (b *closingBody) Close() error { b.closed = true; return nil }

type recordingDoer struct{ req *http.Request }

func (d *recordingDoer) Do(req *http.Request) (*http.Response, error) {
	d.req = req
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// TestOwnedBodySurvivesTheSDKClosingIt: the body the transport reads is
// the tool's own, so the SDK closing its body once the response headers
// are back cannot fail the transport's last read of it.
func TestOwnedBodySurvivesTheSDKClosingIt(t *testing.T) {
	sdkBody := &closingBody{r: strings.NewReader(`{"messages":[]}`)}
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/model/m/converse-stream", sdkBody)
	next := &recordingDoer{}
	if _, err := (ownedBody{next: next}).Do(req); err != nil {
		t.Fatal(err)
	}
	sdkBody.Close() // what the SDK does when the response headers arrive
	got, err := io.ReadAll(next.req.Body)
	if err != nil || string(got) != `{"messages":[]}` || next.req.ContentLength != int64(len(got)) {
		t.Fatalf("transport read %q, %v (content length %d)", got, err, next.req.ContentLength)
	}
	again, _ := next.req.GetBody()
	if b, _ := io.ReadAll(again); string(b) != string(got) {
		t.Errorf("GetBody gave %q", b)
	}
}
