package reader

import "sync/atomic"

// held is the memory the readers of the process hold between records.
// Memory is the process's, whoever opened the readers: the pipeline's
// queues take it out of their byte bound.
var held atomic.Int64

// HeldBytes returns the bytes the readers of the process hold between
// records: a Parquet reader's read buffers, decompression windows,
// dictionaries and encoded levels; a JSONL reader's buffer and the buffer
// of a long line. A reader's share ends when it is closed (Parquet) or
// reaches its end or an error (JSONL).
func HeldBytes() int64 { return held.Load() }

// heldShare keeps one reader's share of held up to date.
type heldShare struct{ last int64 }

// set makes the reader's share n bytes.
func (h *heldShare) set(n int64) {
	held.Add(n - h.last)
	h.last = n
}
