package run

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	bedrockctl "github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/smithy-go"

	"github.com/bedrock-batch/bedrock-batch/accountquota"
	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/modelid"
)

// Catalog is the part of the Bedrock control plane that says which models
// there are and where each is in its lifecycle (*bedrock.Client of
// service/bedrock).
type Catalog interface {
	accountquota.Catalog // ListFoundationModels, GetInferenceProfile
	GetFoundationModel(ctx context.Context, params *bedrockctl.GetFoundationModelInput, optFns ...func(*bedrockctl.Options)) (*bedrockctl.GetFoundationModelOutput, error)
}

var _ Catalog = (*bedrockctl.Client)(nil)

// catalogTimeout bounds the look at one model's lifecycle.
const catalogTimeout = 20 * time.Second

// checkModels looks up each model's lifecycle before any paid call: a model
// past its end of life, or unknown in the region, stops the run (exit 2); a
// Legacy one gets one warning with its end-of-life date. When the control
// plane cannot be read, the run says so once and goes on.
func (r *Run) checkModels(ctx context.Context, models []string) error {
	if r.deps.Catalog == nil {
		return nil
	}
	for _, model := range models {
		if model == "" || r.checkedModels[model] {
			continue
		}
		r.checkedModels[model] = true
		lc, err := r.lifecycleOf(ctx, model)
		var api smithy.APIError
		switch {
		case errors.As(err, &api) && api.ErrorCode() == "ResourceNotFoundException":
			return setup(fmt.Errorf("model %s: Bedrock knows no such model or inference profile in this region (%s): check --model and --region", model, api.ErrorMessage()))
		case err != nil:
			if !r.catalogUnreadable {
				r.catalogUnreadable = true
				r.deps.Logger.Warn("the Bedrock control plane could not be read, so the models' lifecycle is not checked (the role needs bedrock:GetFoundationModel and bedrock:GetInferenceProfile)", "model", model, "error", bedrock.RootMessage(err))
			}
			continue
		case lc == nil || lc.Status != types.FoundationModelLifecycleStatusLegacy:
			continue
		}
		eol := "no end-of-life date yet"
		if lc.EndOfLifeTime != nil {
			if !r.deps.Clock.Now().Before(*lc.EndOfLifeTime) {
				return setup(fmt.Errorf("model %s reached its end of life on %s and can no longer be called: pick an active model (AWS Bedrock user guide, \"Model lifecycle\")",
					model, lc.EndOfLifeTime.Format(time.DateOnly)))
			}
			eol = "end of life on " + lc.EndOfLifeTime.Format(time.DateOnly)
		}
		r.deps.Logger.Warn(fmt.Sprintf("model %s is Legacy (%s): move to an active model before then", model, eol))
	}
	return nil
}

// lifecycleOf is a model's lifecycle; for an inference profile, that of
// the model it routes to. An ARN of anything else (a provisioned or custom
// model) has none to check: nil.
func (r *Run) lifecycleOf(ctx context.Context, model string) (*types.FoundationModelLifecycle, error) {
	ctx, cancel := context.WithTimeout(ctx, catalogTimeout)
	defer cancel()
	id := modelid.Parse(model)
	if id.ARN && !strings.Contains(model, ":foundation-model/") && !strings.Contains(model, ":inference-profile/") {
		return nil, nil
	}
	foundation := model
	if id.Profile() {
		out, err := r.deps.Catalog.GetInferenceProfile(ctx, &bedrockctl.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String(model)})
		if err != nil {
			return nil, err
		}
		if len(out.Models) == 0 || out.Models[0].ModelArn == nil {
			return nil, nil
		}
		foundation = *out.Models[0].ModelArn
	}
	out, err := r.deps.Catalog.GetFoundationModel(ctx, &bedrockctl.GetFoundationModelInput{ModelIdentifier: aws.String(foundation)})
	if err != nil {
		return nil, err
	}
	if out.ModelDetails == nil {
		return nil, nil
	}
	return out.ModelDetails.ModelLifecycle, nil
}
