package batchjobs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Error types the control plane answers (the SDK's restJson1 deserializer reads the
// X-Amzn-ErrorType header).
const (
	errValidation       = "ValidationException"
	errResourceNotFound = "ResourceNotFoundException"
	errInternalServer   = "InternalServerException"
	errConflict         = "ConflictException"
	errServiceQuota     = "ServiceQuotaExceededException"
)

// jobIdentifierRE is the API reference's pattern for jobIdentifier: an ARN or an id.
const jobIdentifierRE = `(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-invocation-job/)?([a-z0-9]{12})`

var jobIdentifierPattern = regexp.MustCompile(`^` + jobIdentifierRE + `$`)

// get answers GetModelInvocationJob.
func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	j := s.find(w, r.PathValue("jobIdentifier"))
	if j == nil {
		return
	}
	j.mu.Lock()
	s.advance(r.Context(), j, s.opts.now())
	out := j.wire()
	j.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// stopJob answers StopModelInvocationJob.
func (s *Service) stopJob(w http.ResponseWriter, r *http.Request) {
	j := s.find(w, r.PathValue("jobIdentifier"))
	if j == nil {
		return
	}
	if msg := s.stop(r.Context(), j); msg != "" {
		writeError(w, http.StatusConflict, errConflict, msg)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// find resolves a jobIdentifier (as the mux unescaped it), or answers why it cannot.
func (s *Service) find(w http.ResponseWriter, ident string) *job {
	m := jobIdentifierPattern.FindStringSubmatch(ident)
	if m == nil {
		writeError(w, http.StatusBadRequest, errValidation, fmt.Sprintf("1 validation error detected: Value '%s' at 'jobIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", ident, jobIdentifierRE))
		return nil
	}
	j := s.lookup(m[3])
	if j == nil {
		writeError(w, http.StatusNotFound, errResourceNotFound, "The specified batch inference job "+ident+" could not be found.")
	}
	return j
}

// wireJob is a GetModelInvocationJob answer and a ListModelInvocationJobs summary: the
// fields of the SDK's deserializers, timestamps as ISO 8601 strings (smithytime.ParseDateTime).
type wireJob struct {
	JobARN                 string           `json:"jobArn"`
	JobName                string           `json:"jobName"`
	ModelID                string           `json:"modelId"`
	ModelInvocationType    string           `json:"modelInvocationType"`
	ClientRequestToken     string           `json:"clientRequestToken,omitempty"`
	RoleARN                string           `json:"roleArn"`
	Status                 string           `json:"status"`
	Message                string           `json:"message,omitempty"`
	SubmitTime             string           `json:"submitTime"`
	LastModifiedTime       string           `json:"lastModifiedTime"`
	EndTime                string           `json:"endTime,omitempty"`
	JobExpirationTime      string           `json:"jobExpirationTime"`
	TimeoutDurationInHours int32            `json:"timeoutDurationInHours"`
	InputDataConfig        inputDataConfig  `json:"inputDataConfig"`
	OutputDataConfig       outputDataConfig `json:"outputDataConfig"`
	VpcConfig              json.RawMessage  `json:"vpcConfig,omitempty"`
	TotalRecordCount       int64            `json:"totalRecordCount"`
	ProcessedRecordCount   int64            `json:"processedRecordCount"`
	SuccessRecordCount     int64            `json:"successRecordCount"`
	ErrorRecordCount       int64            `json:"errorRecordCount"`
}

// wire describes the job; the caller holds j.mu.
func (j *job) wire() wireJob {
	s := &j.spec
	w := wireJob{
		JobARN: j.arn, JobName: s.name, ModelID: s.modelID, ModelInvocationType: s.invocationType,
		ClientRequestToken: j.token, RoleARN: s.roleARN, Status: j.status, Message: j.message,
		SubmitTime: wireTime(j.submitted), LastModifiedTime: wireTime(j.modified),
		JobExpirationTime: wireTime(j.expireAt), TimeoutDurationInHours: s.timeoutHours,
		InputDataConfig:      inputDataConfig{S3: &s3InputDataConfig{S3URI: s.inURI, S3InputFormat: s.inFormat, S3BucketOwner: s.inOwner}},
		OutputDataConfig:     outputDataConfig{S3: &s3OutputDataConfig{S3URI: s.outURI, S3EncryptionKeyID: s.outKeyID, S3BucketOwner: s.outOwner}},
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

var statuses = []string{statusSubmitted, statusInProgress, statusCompleted, statusFailed, statusStopping,
	statusStopped, statusPartiallyCompleted, statusExpired, statusValidating, statusScheduled}

// list answers ListModelInvocationJobs: filters, then sorting by submit time (newest first
// unless sortOrder=Ascending), then pages of maxResults (every match when it is absent) with
// an opaque nextToken.
func (s *Service) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(msg string) { writeError(w, http.StatusBadRequest, errValidation, msg) }
	status := q.Get("statusEquals")
	if status != "" && !slices.Contains(statuses, status) {
		fail(enumError(status, "statusEquals", strings.Join(statuses, ", ")))
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
	for _, j := range s.all() {
		j.mu.Lock()
		s.advance(r.Context(), j, s.opts.now())
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

// writeJSON answers status with v as its JSON body.
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

// writeError answers an error the way the SDK's restJson1 deserializer expects: status,
// X-Amzn-ErrorType and a {"message":...} body.
func writeError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("X-Amzn-Errortype", errorType)
	writeJSON(w, status, struct {
		Message string `json:"message"`
	}{message})
}

// enumError words an enum violation as AWS's request validation does.
func enumError(value, path, set string) string {
	return fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]", value, path, set)
}
