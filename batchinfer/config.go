package batchinfer

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of Config. The record and size quotas are Bedrock's defaults as the user guide
// names them ("Minimum number of records per batch inference job", "Records per batch
// inference job", "Batch inference input file size"); accounts and models can differ, so
// they are settable.
const (
	// DefaultMinRecords is the fewest records a batch job may have.
	DefaultMinRecords = 100
	// DefaultMaxRecords is the most records a batch job (and one input file) may have.
	DefaultMaxRecords = 50_000
	// DefaultMaxPartBytes is the largest input file: the quota is "1 GB"; 10^9 bytes is
	// within it whether AWS means 10^9 or 2^30.
	DefaultMaxPartBytes = 1_000_000_000
	// DefaultPollInterval is the first wait between two GetModelInvocationJob calls.
	DefaultPollInterval = 30 * time.Second
	// DefaultMaxPollInterval bounds the wait as it doubles while a job's status stays put.
	DefaultMaxPollInterval = 5 * time.Minute
	// DefaultTimeoutHours is a job's timeoutDurationInHours: the shortest Bedrock accepts.
	DefaultTimeoutHours = 24
)

// The range of timeoutDurationInHours the API reference gives.
const (
	MinTimeoutHours = 24
	MaxTimeoutHours = 168
)

// Config configures a Stager and Jobs. Zero fields take the defaults.
type Config struct {
	// RunKey is stable across re-runs of the same job and shard: it seeds part names, job
	// names and client request tokens, so a re-run finds its own parts and jobs again.
	RunKey string
	// RoleARN is the service role Bedrock assumes to read the inputs and write the outputs.
	RoleARN string
	// MinRecords is the fewest records a job may have (DefaultMinRecords); a part with
	// fewer is OnDemand.
	MinRecords int
	// MaxRecords is the most records in one part, that is one job (DefaultMaxRecords).
	MaxRecords int
	// MaxPartBytes is the largest part file, that is one job's input (DefaultMaxPartBytes).
	MaxPartBytes int64
	// PollInterval and MaxPollInterval bound the backoff of Jobs.Wait
	// (DefaultPollInterval; DefaultMaxPollInterval, or PollInterval if longer).
	PollInterval, MaxPollInterval time.Duration
	// TimeoutHours is every job's timeoutDurationInHours (DefaultTimeoutHours), from
	// MinTimeoutHours to MaxTimeoutHours.
	TimeoutHours int

	// What locked-down accounts ask of a job (issue 19); see jobs_access.go.
	// KMSKeyID is the key the job's outputs are encrypted with (s3EncryptionKeyId);
	// "" leaves it to the bucket.
	KMSKeyID string
	// BucketOwner is the account that owns the staging bucket, sent as the input's and the
	// output's s3BucketOwner: Bedrock refuses a bucket of another account.
	BucketOwner string
	// SubnetIDs and SecurityGroupIDs are the job's vpcConfig, both or neither: the job
	// reaches S3 from these subnets.
	SubnetIDs, SecurityGroupIDs []string
	// Tags are put on every job.
	Tags map[string]string
	// ModelLimits, when set, gives a model limits of its own (the account's quotas for
	// it): each field that is not zero replaces MinRecords, MaxRecords or MaxPartBytes for
	// the model's parts, and MaxJobs caps its jobs submitted or in progress (0 = none).
	ModelLimits func(model string) Limits
}

// Limits are one model's part and job limits.
type Limits struct {
	MinRecords, MaxRecords int
	MaxPartBytes           int64
	// MaxJobs caps the model's jobs submitted or in progress; 0 = no cap.
	MaxJobs int
}

// Limits are the limits of model's parts and jobs: its own (ModelLimits) over the
// configuration's, defaults filled in.
func (c Config) Limits(model string) Limits {
	c = c.withDefaults()
	l := Limits{MinRecords: c.MinRecords, MaxRecords: c.MaxRecords, MaxPartBytes: c.MaxPartBytes}
	if c.ModelLimits == nil {
		return l
	}
	own := c.ModelLimits(model)
	if own.MinRecords > 0 {
		l.MinRecords = own.MinRecords
	}
	if own.MaxRecords > 0 {
		l.MaxRecords = own.MaxRecords
	}
	if own.MaxPartBytes > 0 {
		l.MaxPartBytes = own.MaxPartBytes
	}
	l.MaxJobs = own.MaxJobs
	l.MinRecords = min(l.MinRecords, l.MaxRecords)
	return l
}

// withDefaults fills in the zero fields.
func (c Config) withDefaults() Config {
	if c.MinRecords == 0 {
		c.MinRecords = DefaultMinRecords
	}
	if c.MaxRecords == 0 {
		c.MaxRecords = DefaultMaxRecords
	}
	if c.MaxPartBytes == 0 {
		c.MaxPartBytes = DefaultMaxPartBytes
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxPollInterval == 0 {
		c.MaxPollInterval = max(DefaultMaxPollInterval, c.PollInterval)
	}
	if c.TimeoutHours == 0 {
		c.TimeoutHours = DefaultTimeoutHours
	}
	return c
}

// Validate reports what is wrong with the configuration, zero fields taken as their
// defaults. RoleARN is checked by Jobs.Submit only, as staging does not need it.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.RunKey == "" {
		errs = append(errs, errors.New("no run key"))
	}
	if c.MinRecords < 0 || c.MaxRecords < 1 || c.MinRecords > c.MaxRecords {
		errs = append(errs, fmt.Errorf("records per job %d to %d: want 0 <= min <= max, max >= 1", c.MinRecords, c.MaxRecords))
	}
	if c.MaxPartBytes < 1 {
		errs = append(errs, fmt.Errorf("max part bytes %d: want > 0", c.MaxPartBytes))
	}
	if c.PollInterval < 0 || c.MaxPollInterval < c.PollInterval {
		errs = append(errs, fmt.Errorf("poll interval %s to %s: want 0 < first <= max", c.PollInterval, c.MaxPollInterval))
	}
	if (len(c.SubnetIDs) == 0) != (len(c.SecurityGroupIDs) == 0) {
		errs = append(errs, fmt.Errorf("vpc config with %d subnets and %d security groups: want at least one of each, or neither", len(c.SubnetIDs), len(c.SecurityGroupIDs)))
	}
	if c.TimeoutHours < MinTimeoutHours || c.TimeoutHours > MaxTimeoutHours {
		errs = append(errs, fmt.Errorf("timeout %d hours: Bedrock takes %d to %d", c.TimeoutHours, MinTimeoutHours, MaxTimeoutHours))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("batchinfer: invalid config: %w", err)
	}
	return nil
}

// String prints the configuration, defaults filled in.
func (c Config) String() string {
	c = c.withDefaults()
	return fmt.Sprintf("batchinfer run-key=%q records=%d..%d max-part-bytes=%d poll=%s..%s timeout=%dh",
		c.RunKey, c.MinRecords, c.MaxRecords, c.MaxPartBytes, c.PollInterval, c.MaxPollInterval, c.TimeoutHours)
}
