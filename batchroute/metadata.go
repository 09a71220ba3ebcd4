package batchroute

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	"github.com/bedrock-batch/bedrock-batch/storage"
)

// Records' metadata cannot travel in a job's input (Bedrock takes
// recordId and modelInput only), so the plan keeps it beside the parts, one
// file per model, and rows of the model's jobs get it back from there.

// metadataName is the metadata file of a run's model in the staging area.
func metadataName(runKey, model string) string {
	h := func(s string) uint64 {
		f := fnv.New64a()
		f.Write([]byte(s))
		return f.Sum64()
	}
	return fmt.Sprintf("meta/%016x-%016x.jsonl", h(runKey), h(model))
}

type metadataLine struct {
	ID       string          `json:"id"`
	Metadata json.RawMessage `json:"metadata"`
}

// metadataWriter writes the metadata files of a plan.
type metadataWriter struct {
	store  storage.Dir
	runKey string
	files  map[string]storage.Object
}

func (w *metadataWriter) add(ctx context.Context, model, id string, metadata json.RawMessage) error {
	if len(metadata) == 0 {
		return nil
	}
	obj, ok := w.files[model]
	if !ok {
		var err error
		if obj, err = w.store.Create(ctx, metadataName(w.runKey, model)); err != nil {
			return err
		}
		w.files[model] = obj
	}
	line, err := json.Marshal(metadataLine{ID: id, Metadata: metadata})
	if err != nil {
		return err
	}
	_, err = obj.Write(append(line, '\n'))
	return err
}

func (w *metadataWriter) commit() error {
	for _, obj := range w.files {
		if err := obj.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func (w *metadataWriter) abort() {
	for _, obj := range w.files {
		obj.Abort()
	}
}

// metadataOf returns the metadata of a model's staged records, read once.
func (r *Route) metadataOf(ctx context.Context, model string) (map[string]json.RawMessage, error) {
	if m, ok := r.metadata[model]; ok {
		return m, nil
	}
	m := make(map[string]json.RawMessage)
	data, err := r.store.Get(ctx, metadataName(r.state.RunKey, model))
	switch {
	case errors.Is(err, os.ErrNotExist):
		// No record of the model had metadata.
	case err != nil:
		return nil, fmt.Errorf("reading the staged metadata of %s: %w", model, err)
	default:
		br := bufio.NewReader(bytes.NewReader(data))
		for {
			line, err := br.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				var l metadataLine
				if err := json.Unmarshal(line, &l); err != nil {
					return nil, fmt.Errorf("reading the staged metadata of %s: %w", model, err)
				}
				m[l.ID] = l.Metadata
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
		}
	}
	r.metadata[model] = m
	return m, nil
}
