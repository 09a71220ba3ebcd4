package pipeline

import (
	"sync"

	"github.com/bedrock-batch/bedrock-batch/reader"
)

// lanes queue records by model, one FIFO per model, so a record waiting for
// one model's quota never holds up another model's: each lane has workers
// of its own. Memory stays bounded: the reader blocks once maxRecords
// records are queued across all lanes, or once the bytes of their prompts
// and the bytes the input readers hold (reader.HeldBytes: a Parquet file's
// read buffers and decompression windows) reach maxBytes. A file
// that alternates between a slow and a fast model can then still make the
// fast one wait for the slow one's backlog, but only once that backlog is
// that large, and the slow model sets the run's length anyway.
type lanes struct {
	mu         sync.Mutex
	space      *sync.Cond // signalled when a record leaves a lane
	queues     map[string]*lane
	records    int
	bytes      int64
	maxRecords int
	maxBytes   int64
	closed     bool
}

// lane is the queue of one model.
type lane struct {
	model string
	queue []reader.Record
	ready *sync.Cond // signalled when a record arrives or the lanes close
}

func newLanes(maxRecords int, maxBytes int64) *lanes {
	l := &lanes{queues: make(map[string]*lane), maxRecords: maxRecords, maxBytes: maxBytes}
	l.space = sync.NewCond(&l.mu)
	return l
}

// push queues rec in its model's lane, waiting for room; it returns the
// lane when it is new (the caller starts its workers) and false when the
// lanes were closed while it waited.
func (l *lanes) push(model string, rec reader.Record) (created *lane, ok bool) {
	size := recordBytes(&rec)
	l.mu.Lock()
	defer l.mu.Unlock()
	for !l.closed && !l.room(size) {
		l.space.Wait()
	}
	if l.closed {
		return nil, false
	}
	q := l.queues[model]
	if q == nil {
		q = &lane{model: model, ready: sync.NewCond(&l.mu)}
		l.queues[model] = q
		created = q
	}
	q.queue = append(q.queue, rec)
	l.records++
	l.bytes += size
	q.ready.Signal()
	return created, true
}

// room tells whether a record of size bytes may be queued now: always
// into empty lanes, so that a record larger than the bound still goes.
// Only the reader's goroutine pushes, so the readers' holdings cannot grow
// while it waits. The caller holds l.mu.
func (l *lanes) room(size int64) bool {
	return l.records == 0 || l.records < l.maxRecords && l.bytes+size+reader.HeldBytes() <= l.maxBytes
}

// pop takes the next record of a lane, waiting for one; false means the
// lanes are closed and this lane is empty.
func (l *lanes) pop(q *lane) (reader.Record, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(q.queue) == 0 && !l.closed {
		q.ready.Wait()
	}
	if len(q.queue) == 0 {
		return reader.Record{}, false
	}
	rec := q.queue[0]
	q.queue[0] = reader.Record{} // let the record be collected
	q.queue = q.queue[1:]
	if len(q.queue) == 0 {
		q.queue = nil // give the backing array back
	}
	l.records--
	l.bytes -= recordBytes(&rec)
	l.space.Signal()
	return rec, true
}

// close wakes every waiter: queued records are still popped, then workers
// end; a push waiting for room gives up.
func (l *lanes) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.space.Broadcast()
	for _, q := range l.queues {
		q.ready.Broadcast()
	}
}

// drop empties every lane (the run is stopping: queued records were not
// started and get no row), returning how many there were.
func (l *lanes) drop() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.records
	for _, q := range l.queues {
		q.queue = nil
	}
	l.records, l.bytes = 0, 0
	l.space.Broadcast()
	return n
}

// recordBytes approximates the memory a queued record holds.
func recordBytes(rec *reader.Record) int64 {
	n := int64(len(rec.System) + len(rec.Metadata) + len(rec.AdditionalFields) + len(rec.Raw) + 256)
	for _, m := range rec.Messages {
		for _, c := range m.Content {
			n += int64(len(c.Text))
			for _, media := range []*reader.Media{c.Image, c.Document} {
				if media != nil {
					n += int64(len(media.Bytes) + len(media.Location))
				}
			}
		}
	}
	for k, v := range rec.Fields {
		n += int64(len(k))
		if s, ok := v.(string); ok {
			n += int64(len(s))
		}
	}
	return n
}

// models lists the models that have a lane.
func (l *lanes) models() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]string, 0, len(l.queues))
	for id := range l.queues {
		ids = append(ids, id)
	}
	return ids
}
