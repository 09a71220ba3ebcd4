package run

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
)

// credentialsTimeout bounds the look for credentials: the chain may wait
// on instance metadata that never answers.
const credentialsTimeout = 30 * time.Second

// checkAWS finds the region and credentials before any paid call, so a run
// without them stops at once (exit 2) with the chain's own reason, rather
// than retrying every record.
func (r *Run) checkAWS(ctx context.Context) error {
	if r.deps.Credentials == nil {
		return nil
	}
	if r.deps.Region == "" {
		return setup(errors.New("no AWS region: give --region, or set AWS_REGION (or a region in the AWS profile)"))
	}
	ctx, cancel := context.WithTimeout(ctx, credentialsTimeout)
	defer cancel()
	if _, err := r.deps.Credentials.Retrieve(ctx); err != nil {
		return setup(fmt.Errorf("no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "+
			"or run where a role is attached (ECS task, AWS Batch job, EC2 instance, EKS service account); the AWS chain said: %s", bedrock.RootMessage(err)))
	}
	return nil
}
