package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Quota is one model's Bedrock quota; zero means none or not known.
type Quota struct {
	RequestsPerMinute int64 `json:"requests_per_minute,omitempty"`
	TokensPerMinute   int64 `json:"tokens_per_minute,omitempty"`
	TokensPerDay      int64 `json:"tokens_per_day,omitempty"`
}

// String prints the quota, "unlimited" for each zero.
func (q Quota) String() string {
	f := func(n int64) string {
		if n > 0 {
			return fmt.Sprint(n)
		}
		return "unlimited"
	}
	return fmt.Sprintf("requests/min %s, tokens/min %s, tokens/day %s",
		f(q.RequestsPerMinute), f(q.TokensPerMinute), f(q.TokensPerDay))
}

// ModelsConfig configures Models.
type ModelsConfig struct {
	// Default is the quota of a model not in PerModel.
	Default Quota
	// PerModel holds quotas by model id, compared exactly: a
	// cross-Region inference profile ("us.anthropic...") has a quota of
	// its own, apart from the model's ("anthropic...").
	PerModel map[string]Quota
	// Share is the part of every quota this worker may use, as
	// Limits.Share; 0 means 1.
	Share float64
	// Burndown gives each model's output-token factor; the zero value is
	// the built-in table.
	Burndown BurndownTable
	// DefaultMaxTokens is what a call that sends no maxTokens reserves
	// (Bedrock reserves the model's maximum output); nil means
	// DefaultMaxOutput.
	DefaultMaxTokens func(model string) int64
}

// Models keeps one Limiter per model id, each at its own model's quota, so
// a run that calls several models keeps to each one's quota and a call
// waiting for one model never holds up another. It adds what Bedrock
// counts: reserve at admission, settle with burndown, a daily budget, and
// a learned correction of input-token estimates. Safe for concurrent use.
type Models struct {
	cfg   ModelsConfig
	clock Clock
	start time.Time

	mu     sync.Mutex // guards share and models; never held while waiting
	share  float64
	models map[string]*model

	advisor *advisor
}

// model is one model's limiter and accounts.
type model struct {
	id        string
	quota     Quota
	burndown  float64
	maxTokens int64 // reserved for a call that sends none
	clock     Clock
	limiter   *Limiter
	advisor   *advisor

	mu    sync.Mutex // guards what follows; taken before limiter.mu
	daily daily
	ratio float64 // learned real / estimated input tokens
	exact bool    // the caller counts input exactly: no correction
	stats stats
	// advised is set once the concurrency was judged against the quota.
	advised bool
}

// How the input estimate is learned: each settled call moves the ratio
// ratioWeight of the way to what it saw, within [minRatio, maxRatio].
const (
	ratioWeight = 0.1
	minRatio    = 0.25
	maxRatio    = 4
)

// NewModels returns Models for cfg reading time from clock (nil means the
// real clock). A model's limiter is made the first time it is used.
func NewModels(cfg ModelsConfig, clock Clock) *Models {
	if clock == nil {
		clock = realClock{}
	}
	per := make(map[string]Quota, len(cfg.PerModel))
	for k, v := range cfg.PerModel {
		per[k] = v
	}
	cfg.PerModel = per
	if cfg.DefaultMaxTokens == nil {
		cfg.DefaultMaxTokens = DefaultMaxOutput
	}
	return &Models{cfg: cfg, clock: clock, start: clock.Now(), share: cfg.Share, models: map[string]*model{}, advisor: &advisor{}}
}

// model returns the model's state, made on first use.
func (m *Models) model(id string) *model {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.models[id]; ok {
		return s
	}
	q, ok := m.cfg.PerModel[id]
	if !ok {
		q = m.cfg.Default
	}
	s := &model{
		id:        id,
		quota:     q,
		burndown:  m.cfg.Burndown.Factor(id),
		maxTokens: m.cfg.DefaultMaxTokens(id),
		clock:     m.clock,
		advisor:   m.advisor,
		limiter: NewWithClock(Limits{
			RequestsPerMinute: int(q.RequestsPerMinute),
			TokensPerMinute:   int(q.TokensPerMinute),
			Share:             m.share,
		}, m.clock),
		daily: daily{limit: float64(q.TokensPerDay), start: m.start},
		ratio: 1,
	}
	m.models[id] = s
	return s
}

// all returns every model made so far, in no order.
func (m *Models) all() []*model {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*model, 0, len(m.models))
	for _, s := range m.models {
		out = append(out, s)
	}
	return out
}

// SetShare changes the share of every model's quota this worker may use,
// for the models made so far and those made later (see Limiter.SetShare).
func (m *Models) SetShare(share float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.share = share
	for _, s := range m.models {
		s.limiter.SetShare(share)
	}
}

// Reservation is what a call takes from its model's quota at admission,
// as Bedrock does: InputTokens + CacheTokens + MaxTokens. InputTokens and
// CacheTokens are estimates, best corrected by EstimateInput; MaxTokens 0
// means the call sends none, and the model's maximum output is reserved.
type Reservation struct {
	InputTokens int64 // prompt tokens outside the cache
	CacheTokens int64 // prompt tokens read from or written to the cache
	MaxTokens   int64 // the call's maxTokens
}

// Usage is what Bedrock's response says a call used.
type Usage struct {
	InputTokens           int64
	CacheReadInputTokens  int64
	CacheWriteInputTokens int64
	OutputTokens          int64
}

// Wait admits a call of model that reserves r and blocks until it may
// start: behind the model's calls that came before it, once its quota
// holds the reservation. It returns ErrTooLarge (wrapped) for a
// reservation larger than a whole minute of the model's quota,
// ErrDailyQuotaExhausted at once for a model Bedrock reported spent for the
// day, and ErrDailyBudget for a call that does not fit in what is left of
// the model's daily budget. A call that fits the daily budget only once
// calls in flight settle waits for them. No lock is held while waiting, so
// callers of other models go on. When ctx ends first, nothing stays taken.
func (m *Models) Wait(ctx context.Context, model string, r Reservation) (*ModelTicket, error) {
	s := m.model(model)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, retry, err := s.charge(r)
		if err != nil {
			return nil, err
		}
		if retry != nil {
			select {
			case <-retry:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		lt, err := s.limiter.Wait(ctx, t.reserved)
		if err != nil {
			s.uncharge(t)
			if errors.Is(err, ErrTooLarge) {
				err = fmt.Errorf("model %s: %w", s.id, err)
			}
			return nil, err
		}
		t.t = lt
		s.admitted(t)
		if err := s.open(); err != nil {
			t.cancel()
			return nil, err
		}
		return t, nil
	}
}

// charge takes a call's share of the daily budget, or returns a channel to
// try again on once a call in flight settles.
func (s *model) charge(r Reservation) (*ModelTicket, <-chan struct{}, error) {
	input, cache, maxTokens := max(r.InputTokens, 0), max(r.CacheTokens, 0), r.MaxTokens
	if maxTokens <= 0 {
		maxTokens = s.maxTokens
	}
	reserved := input + cache + maxTokens
	// Output may settle at burndown times maxTokens: the daily budget
	// charges that, so the calls it admits can never settle above it.
	charge := float64(input+cache) + float64(maxTokens)*s.burndown

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if s.daily.exhausted(now) {
		return nil, nil, s.exhaustedErr()
	}
	if s.quota.TokensPerMinute > 0 && reserved > s.quota.TokensPerMinute {
		return nil, nil, fmt.Errorf("model %s: %w (%d tokens, quota %d/min)", s.id, ErrTooLarge, reserved, s.quota.TokensPerMinute)
	}
	retry, err := s.daily.admit(charge)
	if err != nil {
		return nil, nil, fmt.Errorf("model %s: %w (the call may count %.0f tokens; %.0f of %.0f/day used)",
			s.id, ErrDailyBudget, charge, s.daily.used, s.daily.limit)
	}
	if retry != nil {
		return nil, retry, nil
	}
	return &ModelTicket{s: s, reserved: reserved, charge: charge, input: input + cache, ratio: s.ratio}, nil, nil
}

// uncharge gives back the daily charge of a call that never started.
func (s *model) uncharge(t *ModelTicket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.daily.settle(t.charge, 0)
}

// admitted counts a call its limiter let start.
func (s *model) admitted(t *ModelTicket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.admittedAt = s.clock.Now()
	s.stats.calls++
	s.stats.reserved += t.reserved
}

// open is nil unless the model was reported exhausted meanwhile.
func (s *model) open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.daily.exhausted(s.clock.Now()) {
		return s.exhaustedErr()
	}
	return nil
}

func (s *model) exhaustedErr() error {
	return fmt.Errorf("model %s: %w at %s", s.id, ErrDailyQuotaExhausted, s.daily.exhaustedAt.Format(time.RFC3339))
}

// sorted returns every model made so far, by id.
func (m *Models) sorted() []*model {
	all := m.all()
	sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
	return all
}
