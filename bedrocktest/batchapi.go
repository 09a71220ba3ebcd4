package bedrocktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The control plane's operations, as the SDK's serializers (service/bedrock v1.63.0) send them:
//
//	CreateModelInvocationJob  POST /model-invocation-job                      JSON body
//	GetModelInvocationJob     GET  /model-invocation-job/{jobIdentifier}
//	ListModelInvocationJobs   GET  /model-invocation-jobs?maxResults&nextToken&nameContains&
//	                               statusEquals&sortBy&sortOrder&submitTimeAfter&submitTimeBefore
//	StopModelInvocationJob    POST /model-invocation-job/{jobIdentifier}/stop
//
// {jobIdentifier} is the job's ARN (path-escaped) or its id. None of these paths collides with
// the runtime's /model/{modelId}/..., so one URL serves a bedrockruntime and a bedrock client.
const (
	batchJobPath  = "/model-invocation-job"
	batchListPath = "/model-invocation-jobs"
)

// Error types the control plane adds to the runtime's (errors.go).
const (
	errConflict     = "ConflictException"
	errServiceQuota = "ServiceQuotaExceededException"
)

// jobIdentifierRE is the API reference's pattern for jobIdentifier: an ARN or an id.
const jobIdentifierRE = `(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-invocation-job/)?([a-z0-9]{12})`

var jobIdentifierPattern = regexp.MustCompile(`^` + jobIdentifierRE + `$`)

// serveBatch answers the control plane's operations, and reports false for any other path.
func (h *Handler) serveBatch(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.EscapedPath()
	b := h.batch
	switch {
	case p == batchJobPath && r.Method == http.MethodPost:
		b.create(w, r)
	case p == batchListPath && r.Method == http.MethodGet:
		b.list(w, r)
	case strings.HasPrefix(p, batchJobPath+"/"):
		rest := p[len(batchJobPath)+1:]
		ident, stop := strings.CutSuffix(rest, "/stop")
		switch {
		case stop && r.Method == http.MethodPost:
			if j := b.find(w, ident); j != nil {
				if msg := b.stop(r.Context(), j); msg != "" {
					writeError(w, http.StatusConflict, errConflict, msg)
					return true
				}
				writeJSON(w, http.StatusOK, struct{}{})
			}
		case !stop && r.Method == http.MethodGet:
			if j := b.find(w, ident); j != nil {
				j.mu.Lock()
				b.advance(r.Context(), j, b.opts.now())
				out := j.wire()
				j.mu.Unlock()
				writeJSON(w, http.StatusOK, out)
			}
		default:
			return false
		}
	default:
		return false
	}
	return true
}

// find resolves a path-escaped jobIdentifier, or answers why it cannot.
func (b *batchJobs) find(w http.ResponseWriter, escaped string) *batchJob {
	ident, err := url.PathUnescape(escaped)
	m := jobIdentifierPattern.FindStringSubmatch(ident)
	if err != nil || m == nil {
		writeError(w, http.StatusBadRequest, errValidation, fmt.Sprintf("1 validation error detected: Value '%s' at 'jobIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", ident, jobIdentifierRE))
		return nil
	}
	j := b.lookup(m[3])
	if j == nil {
		writeError(w, http.StatusNotFound, errResourceNotFound, "The specified batch inference job "+ident+" could not be found.")
	}
	return j
}

// wireJob is a GetModelInvocationJob answer and a ListModelInvocationJobs summary: the
// fields of the SDK's deserializers, timestamps as ISO 8601 strings (smithytime.ParseDateTime).
type wireJob struct {
	JobARN                 string            `json:"jobArn"`
	JobName                string            `json:"jobName"`
	ModelID                string            `json:"modelId"`
	ModelInvocationType    string            `json:"modelInvocationType"`
	ClientRequestToken     string            `json:"clientRequestToken,omitempty"`
	RoleARN                string            `json:"roleArn"`
	Status                 string            `json:"status"`
	Message                string            `json:"message,omitempty"`
	SubmitTime             string            `json:"submitTime"`
	LastModifiedTime       string            `json:"lastModifiedTime"`
	EndTime                string            `json:"endTime,omitempty"`
	JobExpirationTime      string            `json:"jobExpirationTime"`
	TimeoutDurationInHours int32             `json:"timeoutDurationInHours"`
	InputDataConfig        batchInputConfig  `json:"inputDataConfig"`
	OutputDataConfig       batchOutputConfig `json:"outputDataConfig"`
	VpcConfig              json.RawMessage   `json:"vpcConfig,omitempty"`
	TotalRecordCount       int64             `json:"totalRecordCount"`
	ProcessedRecordCount   int64             `json:"processedRecordCount"`
	SuccessRecordCount     int64             `json:"successRecordCount"`
	ErrorRecordCount       int64             `json:"errorRecordCount"`
}

// wire describes the job; the caller holds j.mu.
func (j *batchJob) wire() wireJob {
	s := &j.spec
	w := wireJob{
		JobARN: j.arn, JobName: s.name, ModelID: s.modelID, ModelInvocationType: s.invocationType,
		ClientRequestToken: j.token, RoleARN: s.roleARN, Status: j.status, Message: j.message,
		SubmitTime: wireTime(j.submitted), LastModifiedTime: wireTime(j.modified),
		JobExpirationTime: wireTime(j.expireAt), TimeoutDurationInHours: s.timeoutHours,
		InputDataConfig:      batchInputConfig{S3: &batchS3Input{S3URI: s.inURI, S3InputFormat: s.inFormat, S3BucketOwner: s.inOwner}},
		OutputDataConfig:     batchOutputConfig{S3: &batchS3Output{S3URI: s.outURI, S3EncryptionKeyID: s.outKeyID, S3BucketOwner: s.outOwner}},
		TotalRecordCount:     int64(len(j.records)),
		ProcessedRecordCount: int64(j.done),
		SuccessRecordCount:   j.ok,
		ErrorRecordCount:     j.errs,
	}
	if s.vpc != "" {
		w.VpcConfig = json.RawMessage(s.vpc)
	}
	if !j.ended.IsZero() {
		w.EndTime = wireTime(j.ended)
	}
	return w
}

// wireTime formats t as the SDK's own timestamp writer does (smithytime.FormatDateTime).
func wireTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999Z") }

var batchStatuses = []string{statusSubmitted, statusInProgress, statusCompleted, statusFailed, statusStopping,
	statusStopped, statusPartiallyCompleted, statusExpired, statusValidating, statusScheduled}

// list answers ListModelInvocationJobs: filters, then sorting by submit time (newest first
// unless sortOrder=Ascending), then pages of maxResults (every match when it is absent) with
// an opaque nextToken.
func (b *batchJobs) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(msg string) { writeError(w, http.StatusBadRequest, errValidation, msg) }
	status := q.Get("statusEquals")
	if status != "" && !slices.Contains(batchStatuses, status) {
		fail(enumError(status, "statusEquals", strings.Join(batchStatuses, ", ")))
		return
	}
	if v := q.Get("sortBy"); v != "" && v != "CreationTime" {
		fail(enumError(v, "sortBy", "CreationTime"))
		return
	}
	order := q.Get("sortOrder")
	if order != "" && order != "Ascending" && order != "Descending" {
		fail(enumError(order, "sortOrder", "Ascending, Descending"))
		return
	}
	var after, before time.Time
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"submitTimeAfter", &after}, {"submitTimeBefore", &before}} {
		if v := q.Get(t.name); v != "" {
			parsed, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				fail(fmt.Sprintf("%s: %q is not an ISO 8601 timestamp.", t.name, v))
				return
			}
			*t.to = parsed
		}
	}
	pageSize, start := 0, 0
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fail(fmt.Sprintf("1 validation error detected: Value '%s' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000", v))
			return
		}
		pageSize = n
	}
	if v := q.Get("nextToken"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fail("The nextToken is not valid.")
			return
		}
		start = n
	}

	name := q.Get("nameContains")
	var matches []wireJob
	for _, j := range b.all() {
		j.mu.Lock()
		b.advance(r.Context(), j, b.opts.now())
		keep := strings.Contains(j.spec.name, name) && (status == "" || j.status == status) &&
			(after.IsZero() || j.submitted.After(after)) && (before.IsZero() || j.submitted.Before(before))
		if keep {
			matches = append(matches, j.wire())
		}
		j.mu.Unlock()
	}
	if order != "Ascending" {
		slices.Reverse(matches) // all() is in creation, that is submit, order
	}
	out := struct {
		Summaries []wireJob `json:"invocationJobSummaries"`
		NextToken string    `json:"nextToken,omitempty"`
	}{Summaries: []wireJob{}}
	if start < len(matches) {
		end := len(matches)
		if pageSize > 0 && start+pageSize < end {
			end = start + pageSize
			out.NextToken = strconv.Itoa(end)
		}
		out.Summaries = matches[start:end]
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, errInternalServer, "bedrocktest: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
