package s3test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// sigV4 is the parsed Authorization header of a SigV4-signed request.
type sigV4 struct {
	accessKey, date, region, service string
	signedHeaders                    []string // lower case, as listed
	signature                        string
}

// parseSigV4 reads "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
// SignedHeaders=a;b, Signature=HEX".
func parseSigV4(auth string) (sigV4, error) {
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return sigV4{}, errors.New("not a SigV4 Authorization header")
	}
	var s sigV4
	for _, field := range strings.Split(rest, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(field), "=")
		switch name {
		case "Credential":
			parts := strings.Split(value, "/")
			if len(parts) != 5 {
				return sigV4{}, fmt.Errorf("credential scope %q", value)
			}
			s.accessKey, s.date, s.region, s.service = parts[0], parts[1], parts[2], parts[3]
		case "SignedHeaders":
			s.signedHeaders = strings.Split(value, ";")
		case "Signature":
			s.signature = value
		}
	}
	if s.accessKey == "" || s.signature == "" || len(s.signedHeaders) == 0 {
		return sigV4{}, errors.New("incomplete SigV4 Authorization header")
	}
	return s, nil
}

// signs reports whether header is one of the signed headers.
func (s sigV4) signs(header string) bool {
	for _, h := range s.signedHeaders {
		if strings.EqualFold(h, header) {
			return true
		}
	}
	return false
}

// s3Signing signs as the SDK's S3 client does: the path as sent, not
// escaped again.
func s3Signing(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }

// verify recomputes the signature of r over the headers it lists as
// signed, with the secret key, and compares it with the one r carries:
// whatever the policy reads from the request is what its signer signed.
func (s sigV4) verify(r *http.Request, creds aws.Credentials) error {
	if s.accessKey != creds.AccessKeyID {
		return fmt.Errorf("signed with access key %q, not the test server's", s.accessKey)
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %w", err)
	}
	clone, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return err
	}
	clone.ContentLength = r.ContentLength
	for _, h := range s.signedHeaders {
		switch h {
		case "host", "content-length": // the signer takes these from the request itself
		default:
			clone.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	err = v4.NewSigner(s3Signing).SignHTTP(context.Background(), creds, clone,
		r.Header.Get("X-Amz-Content-Sha256"), s.service, s.region, when)
	if err != nil {
		return err
	}
	again, err := parseSigV4(clone.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	if again.signature != s.signature {
		return errors.New("the signature does not match the request")
	}
	return nil
}

// resign signs r again for the server behind the proxy, after the proxy
// took headers away, with the payload hash the client signed.
func resign(r *http.Request, creds aws.Credentials, region string) error {
	r.Header.Del("Authorization")
	r.Header.Del("X-Amz-Date")
	return v4.NewSigner(s3Signing).SignHTTP(r.Context(), creds, r,
		r.Header.Get("X-Amz-Content-Sha256"), "s3", region, time.Now().UTC())
}
