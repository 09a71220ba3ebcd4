package batchinfer

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/bedrock"
)

// Control is the part of the Bedrock control-plane client (*bedrock.Client of
// service/bedrock) that Jobs uses.
type Control interface {
	CreateModelInvocationJob(ctx context.Context, params *bedrock.CreateModelInvocationJobInput, optFns ...func(*bedrock.Options)) (*bedrock.CreateModelInvocationJobOutput, error)
	GetModelInvocationJob(ctx context.Context, params *bedrock.GetModelInvocationJobInput, optFns ...func(*bedrock.Options)) (*bedrock.GetModelInvocationJobOutput, error)
	StopModelInvocationJob(ctx context.Context, params *bedrock.StopModelInvocationJobInput, optFns ...func(*bedrock.Options)) (*bedrock.StopModelInvocationJobOutput, error)
}

var _ Control = (*bedrock.Client)(nil)
