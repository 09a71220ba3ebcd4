package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	bedrockctl "github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/run"
	"github.com/bedrock-batch/bedrock-batch/s3store"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// connect loads the AWS configuration (credentials and region from the
// standard chain, or static demo ones) and makes the clients a run talks
// to: Bedrock Runtime, the Bedrock control plane, Service Quotas and S3.
func connect(ctx context.Context, cfg *config.Config, demo bool) (run.Deps, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	if demo {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("DEMO", "DEMO", "")))
	}
	awsConfig, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return run.Deps{}, err
	}
	deps := run.Deps{
		Model:       bedrock.New(awsConfig, bedrock.Options{Endpoint: cfg.BedrockEndpoint, MaxConns: cfg.Concurrency, Stream: cfg.Stream}),
		Storage:     storage.NewRouter(s3Store(awsConfig, cfg)),
		Region:      awsConfig.Region,
		Credentials: awsConfig.Credentials,
	}
	control := bedrockctl.NewFromConfig(awsConfig, func(o *bedrockctl.Options) {
		if cfg.ControlEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.ControlEndpoint)
		}
	})
	deps.Catalog = control
	if cfg.Route != "" && cfg.Route != config.RouteOnDemand {
		deps.Control = control
	}
	// The account's quotas, read once at start; the SDK also takes the
	// endpoint from AWS_ENDPOINT_URL_SERVICE_QUOTAS.
	deps.Quotas = servicequotas.NewFromConfig(awsConfig, func(o *servicequotas.Options) {
		if cfg.ServiceQuotasEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.ServiceQuotasEndpoint)
		}
	})
	return deps, nil
}

// s3Store is the S3 backend of a run's storage: every S3 call of the run
// (inputs, media, output, staging) goes through it, with the encryption
// and the expected owner of a locked-down account.
func s3Store(awsConfig aws.Config, cfg *config.Config) *s3store.Store {
	return s3store.New(awsConfig, s3store.Options{Endpoint: cfg.S3Endpoint, PathStyle: cfg.S3PathStyle,
		SSE: cfg.S3Encryption(), KMSKeyID: cfg.S3KMSKeyID, ExpectedBucketOwner: cfg.ExpectedBucketOwner})
}
