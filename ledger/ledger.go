// Package ledger is resume: the output is the ledger. A record is done when
// a committed data file or a durable journal segment holds its row, so a
// kill can never leave the ledger and the data disagreeing: they are the
// same thing. Scan reads what
// an output holds; Filter passes on the records a run must still send.
package ledger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/parquet-go/parquet-go"

	"github.com/bedrock-batch/bedrock-batch/internal/idset"
	"github.com/bedrock-batch/bedrock-batch/journal"
	"github.com/bedrock-batch/bedrock-batch/shard"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/tally"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// What the output holds for one id, as bits.
const (
	hasOK        uint8 = 1 << iota // an ok row
	hasError                       // an error row of the record itself
	hasDuplicate                   // a DuplicateID row
	seenThisRun                    // the record was read in this run
)

// ErrorTypeDuplicateID is the error_type of the row of a record whose id an
// earlier record of the same input already used.
const ErrorTypeDuplicateID = "DuplicateID"

// Ledger is what the output already holds for one shard's records: which
// ids have rows, and the totals of those rows. Ids are kept as 60-bit
// hashes with their state in one uint64 each (idset.Set), so a million ids cost
// about 16 MB, not the hundreds their text would; two ids colliding is
// about a one in a billion chance at a million records.
type Ledger struct {
	// mu guards ids: the batch-inference route asks Settled while the
	// run's reader marks the ids it has seen.
	mu     sync.Mutex
	ids    idset.Set
	Totals tally.Totals
	// Files are the data files read.
	Files []string
	// Journal are the shard's journal groups that no data file holds yet:
	// rows an earlier run made durable and was stopped before it wrote
	// out. Their rows count as done; a run writes them out (Adopt).
	Journal []journal.Group
	// errorFiles are the data files holding error rows of the shard's
	// records (not DuplicateID rows): what --retry-errors rewrites.
	errorFiles map[string]bool
}

// ledgerRow is the part of an output row the ledger needs.
type ledgerRow struct {
	ID                    string `json:"id" parquet:"id"`
	Status                string `json:"status" parquet:"status"`
	ErrorType             string `json:"error_type" parquet:"error_type,optional"`
	ErrorMessage          string `json:"error_message" parquet:"error_message,optional"`
	InputTokens           int64  `json:"input_tokens" parquet:"input_tokens"`
	OutputTokens          int64  `json:"output_tokens" parquet:"output_tokens"`
	TotalTokens           int64  `json:"total_tokens" parquet:"total_tokens"`
	CacheReadInputTokens  int64  `json:"cache_read_input_tokens" parquet:"cache_read_input_tokens"`
	CacheWriteInputTokens int64  `json:"cache_write_input_tokens" parquet:"cache_write_input_tokens"`
	ModelID               string `json:"model_id" parquet:"model_id,optional"`
	ServiceTier           string `json:"service_tier" parquet:"service_tier,optional"`
	StopReason            string `json:"stop_reason" parquet:"stop_reason,optional"`
	Route                 string `json:"route" parquet:"route,optional"`
}

// IsDataFile reports whether a name in an output location is a data file.
func IsDataFile(name string) bool {
	return !strings.HasPrefix(name, "_") && !strings.HasPrefix(name, ".") && !strings.Contains(name, "/") &&
		(strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".parquet"))
}

// Scan reads every data file in out, and the shard's journal, and returns
// the ledger of the ids owner owns. A file whose compacted copy is
// committed (Superseded), and journal segments whose data file is, are
// left out: their rows are in the copy.
func Scan(ctx context.Context, out storage.Dir, owner shard.Shard) (*Ledger, error) {
	names, err := out.List(ctx, "")
	if err != nil {
		return nil, err
	}
	superseded := Superseded(names)
	l := &Ledger{errorFiles: make(map[string]bool)}
	for _, name := range names {
		if !IsDataFile(name) || slices.Contains(superseded, name) {
			continue
		}
		add := func(row *ledgerRow) {
			if l.add(row, owner) {
				l.errorFiles[name] = true
			}
		}
		var err error
		if strings.HasSuffix(name, ".parquet") {
			err = scanParquet(ctx, out, name, add)
		} else {
			err = scanJSONL(ctx, out, name, ledgerRowOf, add)
		}
		if err != nil {
			return nil, fmt.Errorf("reading what the output already holds: %s: %w", out.URI(name), err)
		}
		l.Files = append(l.Files, name)
	}
	if err := l.scanJournal(ctx, out, names, owner); err != nil {
		return nil, err
	}
	return l, nil
}

// scanJournal reads the rows of the shard's journal groups that no data
// file supersedes, dropping the torn end a kill may leave.
func (l *Ledger) scanJournal(ctx context.Context, out storage.Dir, names []string, owner shard.Shard) error {
	groups, superseded := journal.Groups(names)
	var own []string
	for g := range groups {
		if OwnsName(g, owner) && !slices.Contains(superseded, g) {
			own = append(own, g)
		}
	}
	slices.Sort(own)
	for _, g := range own {
		for _, name := range groups[g] {
			err := journal.ReadLines(ctx, out, name, func(line []byte, _ int) error {
				row, err := decodeLine(line, ledgerRowOf)
				if err == nil {
					l.add(row, owner)
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("reading what the output's journal holds: %w", err)
			}
		}
		l.Journal = append(l.Journal, journal.Group{Name: g, Segments: groups[g]})
	}
	return nil
}

// AddRow counts a row the output does not hold yet (a row a spool kept),
// unless the output already has a row for its id: it reports whether it
// did, so the row is written once.
func (l *Ledger) AddRow(row *writer.Row, owner shard.Shard) bool {
	if !owner.Owns(row.ID) || l.state(shard.HashID(row.ID))&(hasOK|hasError|hasDuplicate) != 0 {
		return false
	}
	l.add(ledgerRowOf(row), owner)
	return true
}

// scanJSONL calls add for every row of an output JSONL file, in either
// style: flat rows decode straight into T, bedrock-batch lines through
// writer.DecodeJSONLRow and toT.
func scanJSONL[T any](ctx context.Context, out storage.Dir, name string, toT func(*writer.Row) *T, add func(*T)) error {
	rc, err := out.Open(ctx, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	for line := 1; ; line++ {
		text, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(text)) > 0 {
			row, decodeErr := decodeLine(text, toT)
			if decodeErr != nil {
				return fmt.Errorf("row %d: %w", line, decodeErr)
			}
			add(row)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("row %d: %w", line, err)
		}
	}
}

func decodeLine[T any](text []byte, toT func(*writer.Row) *T) (*T, error) {
	if writer.IsBatchStyleLine(text) {
		row, err := writer.DecodeJSONLRow(text)
		if err != nil {
			return nil, err
		}
		return toT(row), nil
	}
	var row T
	return &row, json.Unmarshal(text, &row)
}

// ledgerRowOf is the ledger's part of a row.
func ledgerRowOf(r *writer.Row) *ledgerRow {
	return &ledgerRow{ID: r.ID, Status: r.Status, ErrorType: r.ErrorType, ErrorMessage: r.ErrorMessage, ModelID: r.ModelID,
		ServiceTier: r.ServiceTier, StopReason: r.StopReason, Route: r.Route, InputTokens: r.InputTokens,
		OutputTokens: r.OutputTokens, TotalTokens: r.TotalTokens,
		CacheReadInputTokens: r.CacheReadInputTokens, CacheWriteInputTokens: r.CacheWriteInputTokens}
}

// scanParquet calls add for every row of an output Parquet file.
func scanParquet[T any](ctx context.Context, out storage.Dir, name string, add func(*T)) error {
	ra, size, closer, err := out.OpenAt(ctx, name)
	if err != nil {
		return err
	}
	defer closer.Close()
	file, err := parquet.OpenFile(ra, size)
	if err != nil {
		return err
	}
	rows := parquet.NewGenericReader[T](file)
	defer rows.Close()
	batch := make([]T, 1024)
	for {
		n, err := rows.Read(batch)
		for i := range n {
			add(&batch[i])
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// add counts a row of the shard's records; it reports whether the row is
// an error row --retry-errors would replace.
func (l *Ledger) add(row *ledgerRow, owner shard.Shard) (retryable bool) {
	if !owner.Owns(row.ID) {
		return false
	}
	h := shard.HashID(row.ID)
	ok := row.Status == "ok"
	l.Totals.AddRow(row.ModelID, row.Route, ok, tally.Tokens{Input: row.InputTokens, Output: row.OutputTokens, Total: row.TotalTokens,
		CacheRead: row.CacheReadInputTokens, CacheWrite: row.CacheWriteInputTokens}, row.ServiceTier, row.StopReason)
	if !ok {
		l.Totals.AddError(row.ErrorType, row.ErrorMessage)
	}
	switch {
	case ok:
		l.mark(h, hasOK)
	case row.ErrorType == ErrorTypeDuplicateID:
		l.mark(h, hasDuplicate)
	default:
		l.mark(h, hasError)
		return true
	}
	return false
}

// settled reports whether an id in this state has a row that settles it,
// so it is not sent again: an ok row, or an error row unless retryErrors.
func settled(state uint8, retryErrors bool) bool {
	return state&hasOK != 0 || (state&hasError != 0 && !retryErrors)
}

// state is what the output holds for an id hash, and what this run saw.
func (l *Ledger) state(h uint64) uint8 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ids.Get(h)
}

// mark adds bits to an id hash's state.
func (l *Ledger) mark(h uint64, bits uint8) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids.Or(h, bits)
}
