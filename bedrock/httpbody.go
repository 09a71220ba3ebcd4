package bedrock

import (
	"bytes"
	"io"
	"net/http"
)

// httpDoer is the HTTP client the SDK calls.
type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// ownedBody gives every request a body the SDK cannot close under the
// transport. The SDK closes the request body as soon as the response
// headers are back, but net/http may still be making its last read of the
// body (the check for its end) in the connection's write loop; that read
// then fails, and the transport closes the connection, response and all.
// A short answer is usually read by then; a ConverseStream answer is
// still streaming, and dies with "use of closed network connection"
// after Bedrock has answered (and billed) it. Reading the body into a
// buffer the SDK does not hold keeps the connection's fate to the
// transport. Request bodies are small (a prompt and its attachments, a few
// MB at most), so the copy is cheap.
type ownedBody struct{ next httpDoer }

func (c ownedBody) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return c.next.Do(req)
	}
	data, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	req.ContentLength = int64(len(data))
	return c.next.Do(req)
}
