package batchroute

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"sort"

	"github.com/bedrock-batch/bedrock-batch/batchinfer"
	"github.com/bedrock-batch/bedrock-batch/storage"
)

// Records' metadata cannot travel in a job's input (Bedrock takes
// recordId and modelInput only), so the plan keeps it beside the parts, one
// file per part ("meta/" and the part's name), and rows of a part's job get
// it back from there: only one part's metadata is ever held at once. A part
// split or resubmitted from another keeps that part's file (Part.Meta).
// Plans of earlier versions kept one file per model (metadataName).

// metadataName is the metadata file of a run's model in the staging area,
// as plans before Part.Meta wrote it.
func metadataName(runKey, model string) string {
	h := func(s string) uint64 {
		f := fnv.New64a()
		f.Write([]byte(s))
		return f.Sum64()
	}
	return fmt.Sprintf("meta/%016x-%016x.jsonl", h(runKey), h(model))
}

// partMetadataName is the metadata file of a part.
func partMetadataName(part string) string { return "meta/" + part }

type metadataLine struct {
	ID       string          `json:"id"`
	Metadata json.RawMessage `json:"metadata"`
}

// metadataWriter writes the metadata files of a plan, one per part, and
// holds one open per model: when a model's records move on to its next
// part, the last part's file is committed.
type metadataWriter struct {
	store   storage.Dir
	open    map[string]*metadataFile // by model
	written map[string]bool          // parts whose file was created
}

type metadataFile struct {
	part string
	obj  storage.Object
}

func newMetadataWriter(store storage.Dir) *metadataWriter {
	return &metadataWriter{store: store, open: make(map[string]*metadataFile), written: make(map[string]bool)}
}

// add writes a record's metadata into the file of its part of model.
func (w *metadataWriter) add(ctx context.Context, model, part, id string, metadata json.RawMessage) error {
	if len(metadata) == 0 {
		return nil
	}
	f := w.open[model]
	if f != nil && f.part != part {
		delete(w.open, model)
		if err := f.obj.Commit(); err != nil {
			return err
		}
		f = nil
	}
	if f == nil {
		obj, err := w.store.Create(ctx, partMetadataName(part))
		if err != nil {
			return err
		}
		f = &metadataFile{part: part, obj: obj}
		w.open[model] = f
		w.written[part] = true
	}
	line, err := json.Marshal(metadataLine{ID: id, Metadata: metadata})
	if err != nil {
		return err
	}
	_, err = f.obj.Write(append(line, '\n'))
	return err
}

// nameOf is the metadata file of a part, "" when none of its records had
// metadata.
func (w *metadataWriter) nameOf(part string) string {
	if w.written[part] {
		return partMetadataName(part)
	}
	return ""
}

// commit commits the files still open.
func (w *metadataWriter) commit() error {
	for model, f := range w.open {
		delete(w.open, model)
		if err := f.obj.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func (w *metadataWriter) abort() {
	for model, f := range w.open {
		delete(w.open, model)
		f.obj.Abort()
	}
}

// partMetadata is the metadata of a part's records, by id hash, sorted: a
// few dozen bytes a record, not a map's hundred.
type partMetadata []metadataEntry

type metadataEntry struct {
	h        uint64
	metadata json.RawMessage
}

// of returns a record's metadata, nil when it has none.
func (m partMetadata) of(id string) json.RawMessage {
	h := hashID(id)
	i := sort.Search(len(m), func(i int) bool { return m[i].h >= h })
	if i < len(m) && m[i].h == h {
		return m[i].metadata
	}
	return nil
}

// metadataOf reads the metadata of a part's records: its file, or for a
// part of an earlier plan its model's.
func (r *Route) metadataOf(ctx context.Context, p *batchinfer.Part) (partMetadata, error) {
	var m partMetadata
	name := p.Meta
	if name == "" {
		name = metadataName(r.state.RunKey, p.Model)
	}
	data, err := r.store.Get(ctx, name)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil // no record of the part had metadata
	case err != nil:
		return nil, fmt.Errorf("reading the staged metadata of %s: %w", p.Name, err)
	}
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var l metadataLine
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, fmt.Errorf("reading the staged metadata of %s: %w", p.Name, err)
		}
		m = append(m, metadataEntry{h: hashID(l.ID), metadata: l.Metadata})
	}
	sort.Slice(m, func(i, j int) bool { return m[i].h < m[j].h })
	return m, nil
}
