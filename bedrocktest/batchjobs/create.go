package batchjobs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
)

// Wire shapes of CreateModelInvocationJob, with the names of the SDK's serializers
// (service/bedrock v1.63.0, awsRestjson1_serializeOpDocumentCreateModelInvocationJobInput):
// POST /model-invocation-job, answered {"jobArn": "..."}.
type (
	createJobRequest struct {
		ClientRequestToken     string           `json:"clientRequestToken"`
		JobName                string           `json:"jobName"`
		ModelID                string           `json:"modelId"`
		ModelInvocationType    string           `json:"modelInvocationType"`
		RoleARN                string           `json:"roleArn"`
		TimeoutDurationInHours *int32           `json:"timeoutDurationInHours"`
		InputDataConfig        inputDataConfig  `json:"inputDataConfig"`
		OutputDataConfig       outputDataConfig `json:"outputDataConfig"`
		VpcConfig              json.RawMessage  `json:"vpcConfig"`
		Tags                   []wireTag        `json:"tags"`
	}
	// inputDataConfig and outputDataConfig are unions with one member each.
	inputDataConfig struct {
		S3 *s3InputDataConfig `json:"s3InputDataConfig,omitempty"`
	}
	s3InputDataConfig struct {
		S3URI         string `json:"s3Uri"`
		S3InputFormat string `json:"s3InputFormat,omitempty"` // JSONL, the only value
		S3BucketOwner string `json:"s3BucketOwner,omitempty"`
	}
	outputDataConfig struct {
		S3 *s3OutputDataConfig `json:"s3OutputDataConfig,omitempty"`
	}
	s3OutputDataConfig struct {
		S3URI             string `json:"s3Uri"`
		S3EncryptionKeyID string `json:"s3EncryptionKeyId,omitempty"`
		S3BucketOwner     string `json:"s3BucketOwner,omitempty"`
	}
)

// jobNamePattern is the API reference's pattern for jobName (at most 63 characters).
var jobNamePattern = regexp.MustCompile(`^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\-.]){0,63}$`)

// spec checks the request's fields and returns what it asks for, or why it is invalid.
func (req *createJobRequest) spec() (jobSpec, string) {
	s := jobSpec{name: req.JobName, modelID: req.ModelID, roleARN: req.RoleARN,
		invocationType: req.ModelInvocationType, timeoutHours: DefaultTimeoutHours}
	if in := req.InputDataConfig.S3; in != nil {
		s.inURI, s.inFormat, s.inOwner = in.S3URI, in.S3InputFormat, in.S3BucketOwner
	}
	if out := req.OutputDataConfig.S3; out != nil {
		s.outURI, s.outKeyID, s.outOwner = out.S3URI, out.S3EncryptionKeyID, out.S3BucketOwner
	}
	if req.TimeoutDurationInHours != nil {
		s.timeoutHours = *req.TimeoutDurationInHours
	}
	for _, f := range []struct{ name, value string }{
		{"jobName", s.name}, {"modelId", s.modelID}, {"roleArn", s.roleARN},
		{"inputDataConfig.s3InputDataConfig.s3Uri", s.inURI}, {"outputDataConfig.s3OutputDataConfig.s3Uri", s.outURI},
	} {
		if f.value == "" {
			return s, fmt.Sprintf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", f.name)
		}
	}
	switch {
	case len(s.name) > 63 || !jobNamePattern.MatchString(s.name):
		return s, fmt.Sprintf("1 validation error detected: Value '%s' at 'jobName' failed to satisfy constraint: Member must have length less than or equal to 63 and match the pattern [a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\\+\\-\\.]){0,63}", s.name)
	case !strings.HasPrefix(s.roleARN, "arn:") || !strings.Contains(s.roleARN, ":role/"):
		return s, fmt.Sprintf("1 validation error detected: Value '%s' at 'roleArn' failed to satisfy constraint: Member must be an IAM role ARN", s.roleARN)
	case s.invocationType != "Converse":
		// Bedrock's default is InvokeModel, whose modelInput is each model's native body:
		// bedrocktest answers Converse bodies only, so it asks for the type explicitly.
		return s, fmt.Sprintf("modelInvocationType %q is not supported by bedrocktest: set modelInvocationType to Converse (Bedrock's default, InvokeModel, takes each model's native request body, which bedrocktest does not emulate).", s.invocationType)
	case s.inFormat != "" && s.inFormat != "JSONL":
		return s, enumError(s.inFormat, "inputDataConfig.s3InputDataConfig.s3InputFormat", "JSONL")
	case s.timeoutHours < 24 || s.timeoutHours > 168:
		return s, fmt.Sprintf("1 validation error detected: Value '%d' at 'timeoutDurationInHours' failed to satisfy constraint: Member must have value between 24 and 168", s.timeoutHours)
	}
	var msg string
	if s.vpc, s.tags, msg = req.checkAccess(); msg != "" {
		return s, msg
	}
	if _, _, ok := parseS3URI(s.inURI); !ok {
		return s, fmt.Sprintf("The input S3 URI %q is not valid: use s3://bucket/key.", s.inURI)
	}
	if _, _, ok := parseS3URI(s.outURI); !ok {
		return s, fmt.Sprintf("The output S3 URI %q is not valid: use s3://bucket/prefix/.", s.outURI)
	}
	return s, ""
}

// create answers CreateModelInvocationJob: it checks the request, reads and counts the input
// (so record-count and size quotas are refused at once, with a ValidationException), and
// registers the job, Submitted.
func (s *Service) create(w http.ResponseWriter, r *http.Request) {
	if s.store == nil {
		s.reject(w, http.StatusBadRequest, errValidation, "bedrocktest: batch inference is not enabled: the emulator has no object store for job inputs and outputs (set bedrocktest's Options.BatchStore, or batch emulate --batch-s3-endpoint).")
		return
	}
	var req createJobRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.reject(w, http.StatusBadRequest, errValidation, "The request body is not valid JSON: "+err.Error())
		return
	}
	spec, msg := req.spec()
	if msg != "" {
		s.reject(w, http.StatusBadRequest, errValidation, msg)
		return
	}
	s.createMu.Lock()
	defer s.createMu.Unlock()
	if j := s.byToken(req.ClientRequestToken); j != nil {
		// The API reference: "If this token matches a previous request, Amazon Bedrock ignores
		// the request, but does not return an error."
		if j.spec != spec {
			s.reject(w, http.StatusConflict, errConflict, "The clientRequestToken was already used for a job with different parameters ("+j.arn+").")
			return
		}
		s.stats.repeats.Add(1)
		writeJSON(w, http.StatusOK, map[string]string{"jobArn": j.arn})
		return
	}
	if !s.runtime.Serves(spec.modelID) {
		s.reject(w, http.StatusNotFound, errResourceNotFound, "The provided model identifier is invalid. (bedrocktest: not in Options.Models)")
		return
	}
	if limit := s.opts.MaxActiveJobs; limit > 0 && s.active(r.Context()) >= limit {
		s.reject(w, http.StatusBadRequest, errServiceQuota, fmt.Sprintf("You have reached the maximum of %d batch inference jobs submitted or in progress. Wait for a job to finish, or stop one, and try again.", limit))
		return
	}
	o, model := s.opts.forModel(spec.modelID)
	if limit := model.MaxActiveJobs; limit > 0 && s.activeOf(r.Context(), spec.modelID) >= limit {
		s.reject(w, http.StatusBadRequest, errServiceQuota, fmt.Sprintf("You have reached the maximum of %d batch inference jobs submitted or in progress using the base model %s (quota \"Sum of in-progress and submitted batch inference jobs using a base model\"). Wait for a job to finish, or stop one, and try again.", limit, BaseModelID(spec.modelID)))
		return
	}
	j, msg := s.newJob(r.Context(), o, model, spec, req.ClientRequestToken, SignedRegion(r))
	if msg != "" {
		s.reject(w, http.StatusBadRequest, errValidation, msg)
		return
	}
	s.add(j)
	s.stats.created.Add(1)
	writeJSON(w, http.StatusOK, map[string]string{"jobArn": j.arn})
}

// reject answers a CreateModelInvocationJob that made no job.
func (s *Service) reject(w http.ResponseWriter, status int, errorType, msg string) {
	s.stats.rejected.Add(1)
	writeError(w, status, errorType, msg)
}

// newJob reads the job's input and schedules it, or says why the input is refused.
func (s *Service) newJob(ctx context.Context, o Options, model ModelLimits, spec jobSpec, token, region string) (*job, string) {
	id := newJobID()
	files, data, msg := s.readInputs(withAccess(ctx, Access{Owner: spec.inOwner}), o, spec.inURI)
	if msg != "" {
		return nil, msg
	}
	records, malformed := parseRecords(id, files, data)
	n := int64(len(records))
	if lo := o.minRecords(); n < lo {
		return nil, fmt.Sprintf("The input has %d records, fewer than the minimum of %d records per batch inference job (quota \"Minimum number of records per batch inference job\").", n, lo)
	}
	if hi := o.maxRecords(); n > hi {
		return nil, fmt.Sprintf("The input has %d records, more than the maximum of %d records per batch inference job (quota \"Records per batch inference job\").", n, hi)
	}
	if hi := model.MaxRecordsPerFile; hi > 0 {
		if f, most := recordsPerFile(records, len(files)); most > hi {
			return nil, fmt.Sprintf("The input file %s has %d records, more than the maximum of %d records per input file (quota \"Records per input file per batch inference job\").", files[f].key, most, hi)
		}
	}
	now := s.opts.now()
	j := &job{
		id:        id,
		arn:       "arn:aws:bedrock:" + region + ":" + AccountID + ":model-invocation-job/" + id,
		token:     token,
		spec:      spec,
		files:     files,
		records:   records,
		submitted: now,
		status:    statusSubmitted,
		modified:  now,
	}
	j.validateAt = now.Add(s.opts.ValidateAfter)
	j.scheduleAt = j.validateAt.Add(s.opts.ScheduleAfter)
	j.startAt = j.scheduleAt.Add(s.opts.StartAfter)
	j.finishAt = j.startAt.Add(s.opts.processingTime(len(records)))
	j.expireAt = now.Add(time.Duration(spec.timeoutHours) * time.Hour)
	outBucket, outKey, _ := parseS3URI(spec.outURI)
	j.outBucket, j.outPrefix = outBucket, path.Join(outKey, id)+"/"
	if malformed > s.opts.MaxMalformedLines {
		first := ""
		for _, r := range records {
			if r.malformed != "" {
				first = r.malformed
				break
			}
		}
		j.failMsg = fmt.Sprintf("%d of the %d records are not valid JSON objects with a recordId and a modelInput. %s", malformed, n, first)
	}
	if s.opts.FailJob != nil {
		if msg, fail := s.opts.FailJob(spec.name); fail {
			j.failMsg = msg
		}
	}
	return j, ""
}

// readInputs reads a job's input: the one .jsonl object the URI names, or every .jsonl
// object under it taken as a prefix (a folder, at any depth, as the user guide allows).
func (s *Service) readInputs(ctx context.Context, o Options, uri string) ([]inputFile, [][]byte, string) {
	bucket, key, _ := parseS3URI(uri)
	prefix := key
	if key != "" && !strings.HasSuffix(key, "/") {
		data, err := s.store.Get(ctx, bucket, key)
		switch {
		case err == nil:
			if !strings.HasSuffix(key, ".jsonl") {
				return nil, nil, fmt.Sprintf("The input file %s must be a JSONL file whose name ends in .jsonl.", uri)
			}
			if msg := checkSize(o, uri, int64(len(data)), int64(len(data))); msg != "" {
				return nil, nil, msg
			}
			return []inputFile{{key: key, outName: path.Base(key) + ".out"}}, [][]byte{data}, ""
		case !errors.Is(err, fs.ErrNotExist):
			return nil, nil, fmt.Sprintf("Amazon Bedrock could not read the input %s: %v", uri, err)
		}
		prefix = key + "/"
	}
	keys, err := s.store.List(ctx, bucket, prefix)
	if err != nil {
		return nil, nil, fmt.Sprintf("Amazon Bedrock could not list the input %s: %v", uri, err)
	}
	var files []inputFile
	var data [][]byte
	var total int64
	for _, k := range keys {
		if !strings.HasSuffix(k, ".jsonl") {
			continue
		}
		d, err := s.store.Get(ctx, bucket, k)
		if err != nil {
			return nil, nil, fmt.Sprintf("Amazon Bedrock could not read the input s3://%s/%s: %v", bucket, k, err)
		}
		total += int64(len(d))
		if msg := checkSize(o, "s3://"+bucket+"/"+k, int64(len(d)), total); msg != "" {
			return nil, nil, msg
		}
		files = append(files, inputFile{key: k, outName: strings.TrimPrefix(k, prefix) + ".out"})
		data = append(data, d)
	}
	if len(files) == 0 {
		return nil, nil, fmt.Sprintf("No input was found at %s: it must be a .jsonl object, or a prefix holding .jsonl objects.", uri)
	}
	return files, data, ""
}

// checkSize applies the input file and job size quotas.
func checkSize(o Options, uri string, size, total int64) string {
	if hi := o.maxFileBytes(); size > hi {
		return fmt.Sprintf("The input file %s is %d bytes, more than the maximum of %d bytes per input file (quota \"Batch inference input file size\").", uri, size, hi)
	}
	if hi := o.maxJobBytes(); total > hi {
		return fmt.Sprintf("The job's input files are at least %d bytes, more than the maximum of %d bytes per job (quota \"Batch inference job size\").", total, hi)
	}
	return ""
}

// AccountID is the account id in the emulator's ARNs.
const AccountID = "123456789012"

// newJobID returns 12 random lower-case alphanumerics, the shape of a job id (the last
// segment of its ARN, which GetModelInvocationJob also accepts).
func newJobID() string {
	const digits = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [12]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = digits[int(b[i])%len(digits)]
	}
	return string(b[:])
}

// SignedRegion is the region the client signed for (the SigV4 credential scope
// Credential=AKID/DATE/REGION/SERVICE/aws4_request), used in job ARNs; us-east-1 without one.
func SignedRegion(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if ok {
		if parts := strings.SplitN(cred, "/", 4); len(parts) == 4 && parts[2] != "" {
			return parts[2]
		}
	}
	return "us-east-1"
}
