package jobs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/bedrock-batch/bedrock-batch/reader"
	"github.com/bedrock-batch/bedrock-batch/writer"
)

// The output is the ledger: a record is done when a committed data file
// holds its row. A kill can never leave the ledger and the data
// disagreeing, because they are the same thing.

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
// hashes with their state in one uint64 each (idSet), so a million ids cost
// about 16 MB, not the hundreds their text would; two ids colliding is
// about a one in a billion chance at a million records.
type Ledger struct {
	ids    idSet
	Totals Totals
	// Files are the data files read.
	Files []string
	// errorFiles are the data files holding error rows of the shard's
	// records (not DuplicateID rows): what --retry-errors rewrites.
	errorFiles map[string]bool
}

// Totals are counts and tokens over rows.
type Totals struct {
	Records int64  `json:"records"`
	OK      int64  `json:"ok"`
	Error   int64  `json:"error"`
	Tokens  Tokens `json:"tokens"`
	// Models breaks the rows down by the model they were sent to.
	Models map[string]*ModelTotals `json:"models,omitempty"`
	// ServiceTiers counts ok rows by the tier that served them.
	ServiceTiers map[string]int64 `json:"service_tiers,omitempty"`
	// GuardrailIntervened counts ok rows a guardrail stopped.
	GuardrailIntervened int64 `json:"guardrail_intervened,omitempty"`
}

// ModelTotals are one model's rows and tokens.
type ModelTotals struct {
	Counts
	Tokens Tokens `json:"tokens"`
	// Batch are the rows and tokens of those rows a batch-inference job
	// answered (priced at the batch price).
	Batch *RouteTotals `json:"batch_inference,omitempty"`
	// CostUSD is the estimated on-demand cost of Tokens; nil when the
	// model's price is not known.
	CostUSD *float64 `json:"cost_usd,omitempty"`
}

// RouteTotals are the rows and tokens of one route.
type RouteTotals struct {
	Counts
	Tokens Tokens `json:"tokens"`
}

// model returns the totals of one model, creating them.
func (t *Totals) model(id string) *ModelTotals {
	if t.Models == nil {
		t.Models = make(map[string]*ModelTotals)
	}
	m := t.Models[id]
	if m == nil {
		m = &ModelTotals{}
		t.Models[id] = m
	}
	return m
}

// AddRow counts one row of a model into the totals.
func (t *Totals) AddRow(modelID, route string, ok bool, tokens Tokens, serviceTier, stopReason string) {
	m := t.model(modelID)
	var batch *RouteTotals
	if route == writer.RouteBatchInference {
		if m.Batch == nil {
			m.Batch = &RouteTotals{}
		}
		batch = m.Batch
		batch.Records++
	}
	t.Records++
	m.Records++
	if !ok {
		t.Error++
		m.Error++
		if batch != nil {
			batch.Error++
		}
		return
	}
	t.OK++
	m.OK++
	t.Tokens = t.Tokens.Plus(tokens)
	m.Tokens = m.Tokens.Plus(tokens)
	if batch != nil {
		batch.OK++
		batch.Tokens = batch.Tokens.Plus(tokens)
	}
	if serviceTier != "" {
		if t.ServiceTiers == nil {
			t.ServiceTiers = make(map[string]int64)
		}
		t.ServiceTiers[serviceTier]++
	}
	if stopReason == "guardrail_intervened" {
		t.GuardrailIntervened++
	}
}

// Clone is a deep copy of t.
func (t Totals) Clone() Totals {
	c := t
	c.Models, c.ServiceTiers = nil, nil
	c.Merge(Totals{Models: t.Models, ServiceTiers: t.ServiceTiers})
	return c
}

// Merge adds u's per-model, tier and guardrail counts to t's (not the
// top-level counts and tokens, which the caller sums as it needs).
func (t *Totals) Merge(u Totals) {
	for id, m := range u.Models {
		c := t.model(id)
		c.Records += m.Records
		c.OK += m.OK
		c.Error += m.Error
		c.Tokens = c.Tokens.Plus(m.Tokens)
		if m.Batch != nil {
			if c.Batch == nil {
				c.Batch = &RouteTotals{}
			}
			c.Batch.Records += m.Batch.Records
			c.Batch.OK += m.Batch.OK
			c.Batch.Error += m.Batch.Error
			c.Batch.Tokens = c.Batch.Tokens.Plus(m.Batch.Tokens)
		}
	}
	for tier, n := range u.ServiceTiers {
		if t.ServiceTiers == nil {
			t.ServiceTiers = make(map[string]int64)
		}
		t.ServiceTiers[tier] += n
	}
	t.GuardrailIntervened += u.GuardrailIntervened
}

// Minus is t less u.
func (t Tokens) Minus(u Tokens) Tokens {
	return Tokens{Input: t.Input - u.Input, Output: t.Output - u.Output, Total: t.Total - u.Total,
		CacheRead: t.CacheRead - u.CacheRead, CacheWrite: t.CacheWrite - u.CacheWrite}
}

// Plus is the sum of two token counts.
func (t Tokens) Plus(u Tokens) Tokens {
	return Tokens{Input: t.Input + u.Input, Output: t.Output + u.Output, Total: t.Total + u.Total,
		CacheRead: t.CacheRead + u.CacheRead, CacheWrite: t.CacheWrite + u.CacheWrite}
}

// ledgerRow is the part of an output row the ledger needs.
type ledgerRow struct {
	ID                    string `json:"id" parquet:"id"`
	Status                string `json:"status" parquet:"status"`
	ErrorType             string `json:"error_type" parquet:"error_type,optional"`
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
	return !strings.HasPrefix(name, "_") && !strings.HasPrefix(name, ".") &&
		(strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".parquet"))
}

// ScanOutput reads every data file among names (opened through opener at
// path(name)) and returns the ledger of the ids shard owns.
func ScanOutput(ctx context.Context, opener reader.Opener, path func(string) string, names []string, shard Shard) (*Ledger, error) {
	l := &Ledger{errorFiles: make(map[string]bool)}
	for _, name := range names {
		if !IsDataFile(name) {
			continue
		}
		add := func(row *ledgerRow) {
			if l.add(row, shard) {
				l.errorFiles[name] = true
			}
		}
		var err error
		if strings.HasSuffix(name, ".parquet") {
			err = scanParquet(ctx, opener, path(name), add)
		} else {
			err = scanJSONL(ctx, opener, path(name), ledgerRowOf, add)
		}
		if err != nil {
			return nil, fmt.Errorf("reading what the output already holds: %s: %w", path(name), err)
		}
		l.Files = append(l.Files, name)
	}
	return l, nil
}

// scanJSONL calls add for every row of an output JSONL file, in either
// style: flat rows decode straight into T, bedrock-batch lines through
// writer.DecodeJSONLRow and toT.
func scanJSONL[T any](ctx context.Context, opener reader.Opener, path string, toT func(*writer.Row) *T, add func(*T)) error {
	rc, err := opener.Open(ctx, path)
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
	return &ledgerRow{ID: r.ID, Status: r.Status, ErrorType: r.ErrorType, ModelID: r.ModelID,
		ServiceTier: r.ServiceTier, StopReason: r.StopReason, Route: r.Route, InputTokens: r.InputTokens,
		OutputTokens: r.OutputTokens, TotalTokens: r.TotalTokens,
		CacheReadInputTokens: r.CacheReadInputTokens, CacheWriteInputTokens: r.CacheWriteInputTokens}
}

// scanParquet calls add for every row of an output Parquet file.
func scanParquet[T any](ctx context.Context, opener reader.Opener, path string, add func(*T)) error {
	ra, size, closer, err := opener.OpenAt(ctx, path)
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
func (l *Ledger) add(row *ledgerRow, shard Shard) (retryable bool) {
	if !shard.Owns(row.ID) {
		return false
	}
	h := hashID(row.ID)
	ok := row.Status == "ok"
	l.Totals.AddRow(row.ModelID, row.Route, ok, Tokens{Input: row.InputTokens, Output: row.OutputTokens, Total: row.TotalTokens,
		CacheRead: row.CacheReadInputTokens, CacheWrite: row.CacheWriteInputTokens}, row.ServiceTier, row.StopReason)
	switch {
	case ok:
		l.ids.or(h, hasOK)
	case row.ErrorType == ErrorTypeDuplicateID:
		l.ids.or(h, hasDuplicate)
	default:
		l.ids.or(h, hasError)
		return true
	}
	return false
}

// settled reports whether an id in this state has a row that settles it,
// so it is not sent again: an ok row, or an error row unless retryErrors.
func settled(state uint8, retryErrors bool) bool {
	return state&hasOK != 0 || (state&hasError != 0 && !retryErrors)
}
