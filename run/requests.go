package run

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/bedrock-batch/bedrock-batch/bedrock"
	"github.com/bedrock-batch/bedrock-batch/config"
	"github.com/bedrock-batch/bedrock-batch/modelid"
	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/request"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// defaultS3LocationModels are the models documented to read s3:// images
// and documents themselves (Amazon Nova); others get the bytes.
var defaultS3LocationModels = []string{"amazon.nova-*"}

// requestSetup is what the job's request options turn into.
type requestSetup struct {
	builder *request.Builder
	schema  *request.Schema
	reader  reader.Options
}

// setUpRequests reads the files the request options name (system prompt,
// template, schema) and builds the request builder and reader options.
func setUpRequests(cfg *config.Config, media storage.Opener) (*requestSetup, error) {
	opts := request.Options{
		ModelID:     cfg.ModelID,
		System:      cfg.System,
		CacheSystem: cfg.CacheSystem,
		Inference: bedrock.InferenceConfig{MaxTokens: cfg.MaxTokens, Temperature: cfg.Temperature,
			TopP: cfg.TopP, StopSequences: cfg.StopSequences},
		ServiceTier: cfg.ServiceTier,
		Latency:     cfg.Latency,
		Media:       media,
		S3Location:  modelMatcher(cfg.S3LocationModels, defaultS3LocationModels),
		BucketOwner: cfg.ExpectedBucketOwner,
	}
	if cfg.AdditionalFields != "" {
		opts.AdditionalFields = json.RawMessage(cfg.AdditionalFields)
	}
	if cfg.SystemFile != "" {
		text, err := os.ReadFile(cfg.SystemFile)
		if err != nil {
			return nil, fmt.Errorf("--system-file: %w", err)
		}
		opts.System = string(text)
	}
	if cfg.Guardrail != "" {
		id, version, err := config.ParseGuardrail(cfg.Guardrail)
		if err != nil {
			return nil, fmt.Errorf("--guardrail: %w", err)
		}
		opts.Guardrail = &bedrock.Guardrail{ID: id, Version: version, Trace: cfg.GuardrailTrace}
	}
	setup := &requestSetup{reader: reader.Options{
		IDField: cfg.IDField, PromptField: cfg.PromptField,
		DocumentFields: cfg.DocumentFields, ImageFields: cfg.ImageFields,
	}}
	if cfg.TemplateFile != "" {
		tmpl, err := request.ParseTemplateFile(cfg.TemplateFile)
		if err != nil {
			return nil, fmt.Errorf("--template: %w", err)
		}
		opts.Template = tmpl
		setup.reader.KeepFields, setup.reader.PromptOptional = true, true
	}
	if cfg.JSONSchemaFile != "" {
		schema, err := request.LoadSchemaFile(cfg.JSONSchemaFile)
		if err != nil {
			return nil, fmt.Errorf("--json-schema: %w", err)
		}
		opts.Schema, setup.schema = schema, schema
	}
	setup.builder = request.New(opts)
	return setup, nil
}

// modelMatcher reports whether a model id matches one of the patterns
// (modelid.Match: an inference-profile prefix or an ARN does not
// get in the way); patterns default to defaults when none are given.
func modelMatcher(patterns, defaults []string) func(string) bool {
	if len(patterns) == 0 {
		patterns = defaults
	}
	return func(model string) bool {
		for _, p := range patterns {
			if modelid.Match(p, model) {
				return true
			}
		}
		return false
	}
}
