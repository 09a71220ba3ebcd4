package batchinfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bedrock-batch/bedrock-batch/internal/jsonenc"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// Stager writes records into parts: one open part per model, committed and replaced by the
// next when it holds MaxRecords records or the next line would take it past MaxPartBytes.
// Each line is {"recordId": id, "modelInput": modelInput}, compact JSON ended by '\n'.
//
// Part numbers continue after those already in the staging area for the run and model (a re-run
// after a crash that left parts no State records), so a name, and the job token derived
// from it, is never reused for different records.
//
// A Stager holds one open upload, and its buffer, per model. It is not safe for
// concurrent use.
type Stager struct {
	store  storage.Dir
	cfg    Config
	err    error // sticky: an invalid config, a failed write, Finish or Abort
	models map[string]*staging
	order  []*staging     // in the order models were first added
	taken  map[string]int // model folder → highest part number in the staging area; nil until listed
	line   bytes.Buffer
	id     []byte
}

// staging is one model's parts.
type staging struct {
	model string
	lim   Limits // the model's part limits
	dir   string
	next  int    // number of the next part
	done  []Part // committed
	cur   Part
	obj   storage.Object // the open part, or nil
}

// errFinished is the sticky error of a Stager after Finish or Abort.
var errFinished = errors.New("batchinfer: stager already finished or aborted")

// NewStager returns a Stager that writes parts into store. An invalid cfg is reported by
// the first Add.
func NewStager(store storage.Dir, cfg Config) *Stager {
	return &Stager{store: store, cfg: cfg.withDefaults(), err: cfg.Validate(), models: make(map[string]*staging)}
}

// Add appends one record to model's open part, opening or rotating parts as needed. id is
// the recordId the output will carry; modelInput must be a JSON object (Converse's request
// body without the model id, request.ModelInput), and is compacted onto one line. A record
// that is invalid is an error that leaves the Stager usable; a failed write to the staging area
// is sticky: call Abort.
func (s *Stager) Add(ctx context.Context, id, model string, modelInput json.RawMessage) error {
	if s.err != nil {
		return s.err
	}
	line, err := s.encode(id, modelInput)
	if err != nil {
		return fmt.Errorf("batchinfer: record %q: %w", id, err)
	}
	m := s.staging(model)
	if int64(len(line)) > m.lim.MaxPartBytes {
		return fmt.Errorf("batchinfer: record %q: its line is %d bytes, more than a part's %d", id, len(line), m.lim.MaxPartBytes)
	}
	if m.obj != nil && (m.cur.Records >= m.lim.MaxRecords || m.cur.Bytes+int64(len(line)) > m.lim.MaxPartBytes) {
		if err := s.commit(m); err != nil {
			return s.fail(err)
		}
	}
	if m.obj == nil {
		if err := s.open(ctx, m); err != nil {
			return s.fail(err)
		}
	}
	if _, err := m.obj.Write(line); err != nil {
		return s.fail(fmt.Errorf("batchinfer: writing %s: %w", m.cur.Name, err))
	}
	m.cur.Records++
	m.cur.Bytes += int64(len(line))
	return nil
}

// encode builds a record's line in s.line.
func (s *Stager) encode(id string, modelInput json.RawMessage) ([]byte, error) {
	b := &s.line
	b.Reset()
	b.WriteString(`{"recordId":`)
	s.id = jsonenc.AppendString(s.id[:0], id)
	b.Write(s.id)
	b.WriteString(`,"modelInput":`)
	start := b.Len()
	// Compact validates too, and removes newlines a pretty-printed body would put in the
	// middle of a JSONL line.
	if err := json.Compact(b, modelInput); err != nil {
		return nil, fmt.Errorf("modelInput is not JSON: %w", err)
	}
	if b.Len() == start || b.Bytes()[start] != '{' {
		return nil, errors.New("modelInput is not a JSON object")
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// staging returns model's staging, made on first use.
func (s *Stager) staging(model string) *staging {
	m := s.models[model]
	if m == nil {
		m = &staging{model: model, lim: s.cfg.Limits(model), dir: modelDir(s.cfg.RunKey, model)}
		s.models[model] = m
		s.order = append(s.order, m)
	}
	return m
}

// open starts model's next part, first listing the staging area once to learn the part numbers
// already taken.
func (s *Stager) open(ctx context.Context, m *staging) error {
	if s.taken == nil {
		names, err := s.store.List(ctx, "")
		if err != nil {
			return fmt.Errorf("batchinfer: listing the staging area: %w", err)
		}
		s.taken = make(map[string]int)
		for _, name := range names {
			dir := name[:max(strings.LastIndexByte(name, '/'), 0)]
			if n, ok := partNumber(name, dir); ok && n > s.taken[dir] {
				s.taken[dir] = n
			}
		}
	}
	if m.next == 0 {
		m.next = s.taken[m.dir] + 1
	}
	name := partName(s.cfg.RunKey, m.model, m.next)
	obj, err := s.store.Create(ctx, name)
	if err != nil {
		return fmt.Errorf("batchinfer: creating %s: %w", name, err)
	}
	m.next++
	m.obj, m.cur = obj, Part{Model: m.model, Name: name}
	return nil
}

// commit makes model's open part visible and keeps it.
func (s *Stager) commit(m *staging) error {
	obj := m.obj
	m.obj = nil
	if err := obj.Commit(); err != nil {
		return fmt.Errorf("batchinfer: committing %s: %w", m.cur.Name, err)
	}
	m.cur.OnDemand = m.cur.Records < m.lim.MinRecords
	m.done = append(m.done, m.cur)
	return nil
}

// fail makes err sticky.
func (s *Stager) fail(err error) error {
	s.err = err
	return err
}

// Current is the name of model's open part, the one the last record of the model went
// to; "" before the first.
func (s *Stager) Current(model string) string {
	if m := s.models[model]; m != nil && m.obj != nil {
		return m.cur.Name
	}
	return ""
}

// Finish commits every open part and returns all the parts, by model in the order models
// were first added, then by number. A part below MinRecords is OnDemand. That is the last
// part of a model, and only it unless records are so large that MaxPartBytes holds fewer
// than MinRecords of them: a part is rotated only when the next record does not fit, so a
// small last part could never be merged into the one before it.
func (s *Stager) Finish(ctx context.Context) ([]Part, error) {
	if s.err != nil {
		return nil, s.err
	}
	var parts []Part
	for _, m := range s.order {
		if m.obj != nil {
			if err := s.commit(m); err != nil {
				s.Abort()
				s.err = err
				return nil, err
			}
		}
		parts = append(parts, m.done...)
	}
	s.err = errFinished
	return parts, nil
}

// Abort drops the parts not yet committed. Parts already committed (rotated) stay in the
// staging area, owned by no State; a later Stager of the run numbers its parts after them.
func (s *Stager) Abort() {
	for _, m := range s.order {
		if m.obj != nil {
			m.obj.Abort()
			m.obj = nil
		}
	}
	if s.err == nil {
		s.err = errFinished
	}
}
