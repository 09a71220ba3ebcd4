package bedrocktest

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
		ClientRequestToken     string            `json:"clientRequestToken"`
		JobName                string            `json:"jobName"`
		ModelID                string            `json:"modelId"`
		ModelInvocationType    string            `json:"modelInvocationType"`
		RoleARN                string            `json:"roleArn"`
		TimeoutDurationInHours *int32            `json:"timeoutDurationInHours"`
		InputDataConfig        batchInputConfig  `json:"inputDataConfig"`
		OutputDataConfig       batchOutputConfig `json:"outputDataConfig"`
		VpcConfig              json.RawMessage   `json:"vpcConfig"`
	}
	// batchInputConfig and batchOutputConfig are unions with one member each.
	batchInputConfig struct {
		S3 *batchS3Input `json:"s3InputDataConfig,omitempty"`
	}
	batchS3Input struct {
		S3URI         string `json:"s3Uri"`
		S3InputFormat string `json:"s3InputFormat,omitempty"` // JSONL, the only value
		S3BucketOwner string `json:"s3BucketOwner,omitempty"`
	}
	batchOutputConfig struct {
		S3 *batchS3Output `json:"s3OutputDataConfig,omitempty"`
	}
	batchS3Output struct {
		S3URI             string `json:"s3Uri"`
		S3EncryptionKeyID string `json:"s3EncryptionKeyId,omitempty"`
		S3BucketOwner     string `json:"s3BucketOwner,omitempty"`
	}
)

// batchJobName is the API reference's pattern for jobName (at most 63 characters).
var batchJobName = regexp.MustCompile(`^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\-.]){0,63}$`)

// spec checks the request's fields and returns what it asks for, or why it is invalid.
func (req *createJobRequest) spec() (batchSpec, string) {
	s := batchSpec{name: req.JobName, modelID: req.ModelID, roleARN: req.RoleARN,
		invocationType: req.ModelInvocationType, timeoutHours: DefaultBatchTimeoutHours, vpc: vpcJSON(req.VpcConfig)}
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
	case len(s.name) > 63 || !batchJobName.MatchString(s.name):
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
func (b *batchJobs) create(w http.ResponseWriter, r *http.Request) {
	if b.store == nil {
		b.reject(w, http.StatusBadRequest, errValidation, "bedrocktest: batch inference is not enabled: set Options.BatchStore (batch emulate --batch-s3-endpoint) to serve CreateModelInvocationJob.")
		return
	}
	var req createJobRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		b.reject(w, http.StatusBadRequest, errValidation, "The request body is not valid JSON: "+err.Error())
		return
	}
	spec, msg := req.spec()
	if msg != "" {
		b.reject(w, http.StatusBadRequest, errValidation, msg)
		return
	}
	b.createMu.Lock()
	defer b.createMu.Unlock()
	if j := b.byToken(req.ClientRequestToken); j != nil {
		// The API reference: "If this token matches a previous request, Amazon Bedrock ignores
		// the request, but does not return an error."
		if j.spec != spec {
			b.reject(w, http.StatusConflict, errConflict, "The clientRequestToken was already used for a job with different parameters ("+j.arn+").")
			return
		}
		b.stats.repeats.Add(1)
		writeJSON(w, http.StatusOK, map[string]string{"jobArn": j.arn})
		return
	}
	if !b.h.knownModel(spec.modelID) {
		b.reject(w, http.StatusNotFound, errResourceNotFound, "The provided model identifier is invalid. (bedrocktest: not in Options.Models)")
		return
	}
	if limit := b.opts.MaxActiveJobs; limit > 0 && b.active(r.Context()) >= limit {
		b.reject(w, http.StatusBadRequest, errServiceQuota, fmt.Sprintf("You have reached the maximum of %d batch inference jobs submitted or in progress. Wait for a job to finish, or stop one, and try again.", limit))
		return
	}
	j, msg := b.newJob(r.Context(), spec, req.ClientRequestToken, region(r))
	if msg != "" {
		b.reject(w, http.StatusBadRequest, errValidation, msg)
		return
	}
	b.add(j)
	b.stats.created.Add(1)
	writeJSON(w, http.StatusOK, map[string]string{"jobArn": j.arn})
}

func (b *batchJobs) reject(w http.ResponseWriter, status int, errorType, msg string) {
	b.stats.rejected.Add(1)
	writeError(w, status, errorType, msg)
}

// newJob reads the job's input and schedules it, or says why the input is refused.
func (b *batchJobs) newJob(ctx context.Context, spec batchSpec, token, region string) (*batchJob, string) {
	id := newJobID()
	files, data, msg := b.readInputs(ctx, spec.inURI)
	if msg != "" {
		return nil, msg
	}
	records, malformed := parseRecords(id, files, data)
	n := int64(len(records))
	if lo := b.opts.minRecords(); n < lo {
		return nil, fmt.Sprintf("The input has %d records, fewer than the minimum of %d records per batch inference job (quota \"Minimum number of records per batch inference job\").", n, lo)
	}
	if hi := b.opts.maxRecords(); n > hi {
		return nil, fmt.Sprintf("The input has %d records, more than the maximum of %d records per batch inference job (quota \"Records per batch inference job\").", n, hi)
	}
	now := b.opts.now()
	j := &batchJob{
		id:        id,
		arn:       "arn:aws:bedrock:" + region + ":" + batchAccount + ":model-invocation-job/" + id,
		token:     token,
		spec:      spec,
		files:     files,
		records:   records,
		submitted: now,
		status:    statusSubmitted,
		modified:  now,
	}
	j.validateAt = now.Add(b.opts.ValidateAfter)
	j.scheduleAt = j.validateAt.Add(b.opts.ScheduleAfter)
	j.startAt = j.scheduleAt.Add(b.opts.StartAfter)
	j.finishAt = j.startAt.Add(b.opts.processingTime(len(records)))
	j.expireAt = now.Add(time.Duration(spec.timeoutHours) * time.Hour)
	outBucket, outKey, _ := parseS3URI(spec.outURI)
	j.outBucket, j.outPrefix = outBucket, path.Join(outKey, id)+"/"
	if malformed > b.opts.MaxMalformedLines {
		first := ""
		for _, r := range records {
			if r.malformed != "" {
				first = r.malformed
				break
			}
		}
		j.failMsg = fmt.Sprintf("%d of the %d records are not valid JSON objects with a recordId and a modelInput. %s", malformed, n, first)
	}
	if b.opts.FailJob != nil {
		if msg, fail := b.opts.FailJob(spec.name); fail {
			j.failMsg = msg
		}
	}
	return j, ""
}

// readInputs reads a job's input: the one .jsonl object the URI names, or every .jsonl
// object under it taken as a prefix (a folder, at any depth, as the user guide allows).
func (b *batchJobs) readInputs(ctx context.Context, uri string) ([]batchFile, [][]byte, string) {
	bucket, key, _ := parseS3URI(uri)
	prefix := key
	if key != "" && !strings.HasSuffix(key, "/") {
		data, err := b.store.Get(ctx, bucket, key)
		switch {
		case err == nil:
			if !strings.HasSuffix(key, ".jsonl") {
				return nil, nil, fmt.Sprintf("The input file %s must be a JSONL file whose name ends in .jsonl.", uri)
			}
			if msg := b.checkSize(uri, int64(len(data)), int64(len(data))); msg != "" {
				return nil, nil, msg
			}
			return []batchFile{{key: key, outName: path.Base(key) + ".out"}}, [][]byte{data}, ""
		case !errors.Is(err, fs.ErrNotExist):
			return nil, nil, fmt.Sprintf("Amazon Bedrock could not read the input %s: %v", uri, err)
		}
		prefix = key + "/"
	}
	keys, err := b.store.List(ctx, bucket, prefix)
	if err != nil {
		return nil, nil, fmt.Sprintf("Amazon Bedrock could not list the input %s: %v", uri, err)
	}
	var files []batchFile
	var data [][]byte
	var total int64
	for _, k := range keys {
		if !strings.HasSuffix(k, ".jsonl") {
			continue
		}
		d, err := b.store.Get(ctx, bucket, k)
		if err != nil {
			return nil, nil, fmt.Sprintf("Amazon Bedrock could not read the input s3://%s/%s: %v", bucket, k, err)
		}
		total += int64(len(d))
		if msg := b.checkSize("s3://"+bucket+"/"+k, int64(len(d)), total); msg != "" {
			return nil, nil, msg
		}
		files = append(files, batchFile{key: k, outName: strings.TrimPrefix(k, prefix) + ".out"})
		data = append(data, d)
	}
	if len(files) == 0 {
		return nil, nil, fmt.Sprintf("No input was found at %s: it must be a .jsonl object, or a prefix holding .jsonl objects.", uri)
	}
	return files, data, ""
}

// checkSize applies the input file and job size quotas.
func (b *batchJobs) checkSize(uri string, size, total int64) string {
	if hi := b.opts.maxFileBytes(); size > hi {
		return fmt.Sprintf("The input file %s is %d bytes, more than the maximum of %d bytes per input file (quota \"Batch inference input file size\").", uri, size, hi)
	}
	if hi := b.opts.maxJobBytes(); total > hi {
		return fmt.Sprintf("The job's input files are at least %d bytes, more than the maximum of %d bytes per job (quota \"Batch inference job size\").", total, hi)
	}
	return ""
}

// batchAccount is the account id in the emulator's job ARNs.
const batchAccount = "123456789012"

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

// region is the region the client signed for (the SigV4 credential scope
// Credential=AKID/DATE/REGION/SERVICE/aws4_request), used in job ARNs; us-east-1 without one.
func region(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if ok {
		if parts := strings.SplitN(cred, "/", 4); len(parts) == 4 && parts[2] != "" {
			return parts[2]
		}
	}
	return "us-east-1"
}
