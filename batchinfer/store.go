package batchinfer

import (
	"context"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/bedrock"

	"github.com/bedrock-batch/bedrock-batch/writer"
)

// Store is the staging area, an S3 prefix that Bedrock's service role can read and write.
// Names are relative to the prefix and may hold "/". s3store.Dir serves it through a thin
// adapter (one Dir per folder of a name).
type Store interface {
	// Create starts a file, streamed up and visible under name on Commit.
	Create(ctx context.Context, name string) (writer.Object, error)
	// Get reads a whole file; a missing one is an error wrapping os.ErrNotExist.
	Get(ctx context.Context, name string) ([]byte, error)
	// List returns the names of every file under the prefix, at any depth.
	List(ctx context.Context) ([]string, error)
	// URI is the s3:// URI of name, for job configurations.
	URI(name string) string
}

// Opener is a Store that can also stream a file. Outputs and Inputs use it when the Store
// has it, so that an output file (which repeats every modelInput) is never held whole.
type Opener interface {
	// Open opens a file for reading; a missing one is an error wrapping os.ErrNotExist.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
}

// Control is the part of the Bedrock control-plane client (*bedrock.Client of
// service/bedrock) that Jobs uses.
type Control interface {
	CreateModelInvocationJob(ctx context.Context, params *bedrock.CreateModelInvocationJobInput, optFns ...func(*bedrock.Options)) (*bedrock.CreateModelInvocationJobOutput, error)
	GetModelInvocationJob(ctx context.Context, params *bedrock.GetModelInvocationJobInput, optFns ...func(*bedrock.Options)) (*bedrock.GetModelInvocationJobOutput, error)
	StopModelInvocationJob(ctx context.Context, params *bedrock.StopModelInvocationJobInput, optFns ...func(*bedrock.Options)) (*bedrock.StopModelInvocationJobOutput, error)
}

var _ Control = (*bedrock.Client)(nil)
