package bedrock

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// operationError wraps err the way the SDK hands it to a caller.
func operationError(err error) error {
	return &smithy.OperationError{ServiceID: "Bedrock Runtime", OperationName: "Converse", Err: err}
}

func responseError(status int, err error) error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err},
		RequestID:     "req-1",
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantClass Class
		wantType  string
	}{
		{"throttling", operationError(&types.ThrottlingException{Message: aws.String("slow down")}), Throttled, "ThrottlingException"},
		{"quota exceeded", operationError(&types.ServiceQuotaExceededException{Message: aws.String("quota")}), Throttled, "ServiceQuotaExceededException"},
		{"no credentials", operationError(fmt.Errorf("get identity: %w", &CredentialsError{Err: errors.New("no EC2 IMDS role found")})), Fatal, TypeCredentialsError},
		{"endpoint host unknown", operationError(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "bedrock-runtime.us-eats-1.amazonaws.com", IsNotFound: true}}), Fatal, TypeConnectionError},
		{"DNS timeout is an outage", operationError(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "i/o timeout", Name: "h", IsTimeout: true}}), Retryable, TypeConnectionError},
		{"internal", operationError(responseError(500, &types.InternalServerException{Message: aws.String("oops")})), Retryable, "InternalServerException"},
		{"unavailable", operationError(&types.ServiceUnavailableException{Message: aws.String("later")}), Retryable, "ServiceUnavailableException"},
		{"model not ready", operationError(&types.ModelNotReadyException{Message: aws.String("warming")}), Retryable, "ModelNotReadyException"},
		{"model timeout", operationError(&types.ModelTimeoutException{Message: aws.String("slow")}), Retryable, "ModelTimeoutException"},
		{"validation", operationError(&types.ValidationException{Message: aws.String("too long")}), BadRecord, "ValidationException"},
		{"access denied", operationError(&types.AccessDeniedException{Message: aws.String("no")}), Fatal, "AccessDeniedException"},
		{"unknown model", operationError(&types.ResourceNotFoundException{Message: aws.String("no such model")}), Fatal, "ResourceNotFoundException"},
		{"expired token by name", operationError(responseError(403, &smithy.GenericAPIError{Code: "ExpiredTokenException", Message: "expired"})), Fatal, "ExpiredTokenException"},
		{"unknown name, 429", operationError(responseError(429, &smithy.GenericAPIError{Code: "SlowDownPlease", Message: "x"})), Throttled, "SlowDownPlease"},
		{"unknown name, 502", operationError(responseError(502, &smithy.GenericAPIError{Code: "BadGateway", Message: "x"})), Retryable, "BadGateway"},
		{"unknown name, 400", operationError(responseError(400, &smithy.GenericAPIError{Code: "Weird", Message: "x"})), BadRecord, "Weird"},
		{"html from a proxy", operationError(responseError(502, errors.New("failed to decode response body"))), Retryable, "HTTP502"},
		{"connection reset", operationError(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), Retryable, TypeConnectionError},
		{"timeout", operationError(fmt.Errorf("request canceled: %w", context.DeadlineExceeded)), Retryable, TypeRequestTimeout},
		{"no credentials", operationError(&v4.SigningError{Err: errors.New("failed to retrieve credentials")}), Fatal, TypeClientError},
		{"no region", operationError(&aws.MissingRegionError{}), Fatal, TypeClientError},
		{"already classified", &Error{Class: BadRecord, Type: "X", Message: "m"}, BadRecord, "X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(tt.err)
			if got.Class != tt.wantClass || got.Type != tt.wantType {
				t.Errorf("Classify() = %v %q, want %v %q", got.Class, got.Type, tt.wantClass, tt.wantType)
			}
			if got.Err != nil && !errors.Is(got, tt.err) && got != tt.err {
				t.Errorf("Classify() does not wrap the original error")
			}
		})
	}
}
