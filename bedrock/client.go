package bedrock

import (
	"context"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
)

// Options configure a Client beyond what aws.Config carries.
type Options struct {
	// Endpoint overrides the Bedrock Runtime endpoint (an emulator, a VPC
	// endpoint). Empty keeps the SDK's resolution, which already honours
	// AWS_ENDPOINT_URL_BEDROCK_RUNTIME.
	Endpoint string
	// MaxConns is how many connections to keep open to Bedrock; set it to
	// the run's concurrency, or every call above the default pays for a new
	// connection.
	MaxConns int
	// Stream makes every call a ConverseStream call, assembled into the same
	// Response (for long outputs, and models whose streaming quotas differ).
	Stream bool
}

// Client is the Model the pipeline calls: one Converse call per Request,
// made once (no SDK retries: the pipeline owns retries and pacing).
type Client struct {
	runtime *bedrockruntime.Client
	stream  bool
}

// New returns a Client over the real bedrockruntime SDK client.
func New(cfg aws.Config, opts Options) *Client {
	return &Client{runtime: NewRuntimeClient(cfg, opts), stream: opts.Stream}
}

// NewRuntimeClient returns the SDK client a Client uses: no SDK retries,
// enough idle connections for the run's concurrency, the endpoint override.
func NewRuntimeClient(cfg aws.Config, opts Options) *bedrockruntime.Client {
	conns := max(opts.MaxConns, 16)
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = conns * 2
		t.MaxIdleConnsPerHost = conns * 2
		t.MaxConnsPerHost = 0
	})
	if cfg.Credentials != nil {
		cfg.Credentials = credentialsOf{cfg.Credentials}
	}
	return bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		o.Retryer = aws.NopRetryer{}
		o.HTTPClient = ownedBody{next: httpClient}
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})
}

// Converse makes one Converse call (ConverseStream when the Client
// streams). Every error it returns is an *Error; a request Bedrock would
// reject is refused before any call, as a BadRecord.
func (c *Client) Converse(ctx context.Context, req *Request) (Response, error) {
	in, err := converseInput(req)
	if err != nil {
		return Response{}, err
	}
	if c.stream {
		return c.converseStream(ctx, req, in)
	}
	out, err := c.runtime.Converse(ctx, in)
	if err != nil {
		return Response{}, Classify(err)
	}
	return converseResponse(req, out)
}

// CountTokens asks Bedrock how many input tokens req has, exactly, without
// running the model (free; Claude models and the emulator support it). The
// tool and the additional fields are counted too: they are part of the
// input.
func (c *Client) CountTokens(ctx context.Context, req *Request) (int64, error) {
	in, err := converseInput(req)
	if err != nil {
		return 0, err
	}
	out, err := c.runtime.CountTokens(ctx, countTokensInput(in))
	if err != nil {
		return 0, Classify(err)
	}
	return int64(aws.ToInt32(out.InputTokens)), nil
}

// credentialsOf marks the failures of the credential chain, whose errors
// carry no type of their own by the time a call returns them: a run with no
// usable credentials is stopped, not retried record by record.
type credentialsOf struct{ aws.CredentialsProvider }

func (c credentialsOf) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := c.CredentialsProvider.Retrieve(ctx)
	if err != nil && ctx.Err() == nil {
		return creds, &CredentialsError{Err: err}
	}
	return creds, err
}

// CredentialsError is a failure of the AWS credential chain: no keys, no
// profile, no role.
type CredentialsError struct{ Err error }

func (e *CredentialsError) Error() string { return "no usable AWS credentials: " + RootMessage(e.Err) }
func (e *CredentialsError) Unwrap() error { return e.Err }
