package batchjobs

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// tick is how often a Service's own goroutine moves jobs along, so outputs appear in the store
// without anyone polling. Get, List, Stop, Stats and Jobs move them too, when they are called.
const tick = 20 * time.Millisecond

// Service is the control plane: every job, by id and in creation order, and the goroutine
// that moves them along. Its methods are safe for concurrent use.
type Service struct {
	opts    Options
	store   ObjectStore
	runtime Runtime

	createMu sync.Mutex // one CreateModelInvocationJob at a time: idempotency and the active cap hold
	mu       sync.Mutex // guards the maps and the order, never held while a job's lock is taken
	byID     map[string]*job
	order    []*job
	tokens   map[string]*job // clientRequestToken → job

	stats  counters
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a control plane whose jobs read their inputs from and write their outputs to
// store, and whose records runtime answers. With a nil store it still answers Get, List and
// Stop (there are no jobs) and refuses CreateModelInvocationJob with a ValidationException
// saying batch inference is not enabled. Close it when done.
func New(opts Options, store ObjectStore, runtime Runtime) *Service {
	s := &Service{opts: opts, store: store, runtime: runtime,
		byID: map[string]*job{}, tokens: map[string]*job{}, cancel: func() {}}
	if store != nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.cancel = cancel
		s.wg.Add(1)
		go s.run(ctx)
	}
	return s
}

// Router is where Register puts the operations: an *http.ServeMux.
type Router interface {
	Handle(pattern string, handler http.Handler)
}

// Register puts the control plane's operations on mux, with the methods and paths of the SDK's
// serializers (service/bedrock v1.63.0):
//
//	CreateModelInvocationJob  POST /model-invocation-job                      JSON body
//	GetModelInvocationJob     GET  /model-invocation-job/{jobIdentifier}
//	ListModelInvocationJobs   GET  /model-invocation-jobs?maxResults&nextToken&nameContains&
//	                               statusEquals&sortBy&sortOrder&submitTimeAfter&submitTimeBefore
//	StopModelInvocationJob    POST /model-invocation-job/{jobIdentifier}/stop
//
// {jobIdentifier} is the job's ARN (path-escaped, so one segment) or its id. None of these paths
// collides with the runtime's /model/{modelId}/..., so one URL serves a bedrockruntime and a
// bedrock client.
func (s *Service) Register(mux Router) {
	mux.Handle("POST /model-invocation-job", http.HandlerFunc(s.create))
	mux.Handle("GET /model-invocation-job/{jobIdentifier}", http.HandlerFunc(s.get))
	mux.Handle("POST /model-invocation-job/{jobIdentifier}/stop", http.HandlerFunc(s.stopJob))
	mux.Handle("GET /model-invocation-jobs", http.HandlerFunc(s.list))
}

// Close stops the goroutine that moves jobs along and waits for it: its store calls end with
// its context. Jobs can still be looked at afterwards.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

func (s *Service) run(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.advanceAll(ctx)
		}
	}
}

// advanceAll advances every job to the clock's now.
func (s *Service) advanceAll(ctx context.Context) {
	for _, j := range s.all() {
		j.mu.Lock()
		s.advance(ctx, j, s.opts.now())
		j.mu.Unlock()
	}
}

// all returns the jobs in creation order.
func (s *Service) all() []*job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*job(nil), s.order...)
}

func (s *Service) lookup(id string) *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// add registers a new job.
func (s *Service) add(j *job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[j.id] = j
	s.order = append(s.order, j)
	if j.token != "" {
		s.tokens[j.token] = j
	}
}

func (s *Service) byToken(token string) *job {
	if token == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[token]
}

// active counts the jobs not finished, as of now.
func (s *Service) active(ctx context.Context) int {
	n := 0
	for _, j := range s.all() {
		j.mu.Lock()
		s.advance(ctx, j, s.opts.now())
		if !terminal(j.status) {
			n++
		}
		j.mu.Unlock()
	}
	return n
}
