package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/bedrock-batch/bedrock-batch/journal"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/tally"
)

// IsManifestName reports whether name is a shard's manifest.
func IsManifestName(name string) bool {
	return name == Name || (strings.HasPrefix(name, "_manifest-") && strings.HasSuffix(name, ".json"))
}

// ErrNoManifest says an output holds no manifest: no run has ended there.
var ErrNoManifest = errors.New("holds no manifest: no run has ended there yet")

// ReadStatus reads the manifests of every shard in out.
func ReadStatus(ctx context.Context, out storage.Dir) (*Status, error) {
	names, err := out.List(ctx, "_manifest")
	if err != nil {
		return nil, err
	}
	var manifests [][]byte
	for _, name := range names {
		if !IsManifestName(name) {
			continue
		}
		data, err := out.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		manifests = append(manifests, data)
	}
	all, err := out.List(ctx, "")
	if err != nil {
		return nil, err
	}
	journaled, err := journal.CountRows(ctx, out, all)
	if err != nil {
		return nil, fmt.Errorf("counting the rows in the journal: %w", err)
	}
	if len(manifests) == 0 {
		if journaled > 0 {
			return &Status{Journaled: journaled}, nil // a first run is going on, or was killed
		}
		return nil, fmt.Errorf("%s %w", out.URI(""), ErrNoManifest)
	}
	s, err := NewStatus(manifests)
	if err != nil {
		return nil, err
	}
	// Rows left in the journal are a run going on, or one stopped before
	// it wrote them out: the next run does, so the job is not done yet.
	s.Journaled = journaled
	s.Complete = s.Complete && journaled == 0
	return s, nil
}

// Status is a job's state across its shards, from their manifests.
type Status struct {
	Shards    []Manifest
	Missing   []int // shard indexes of a sharded job with no manifest yet
	Total     tally.Counts
	Tokens    tally.Tokens
	CostUSD   float64
	CostKnown bool // every shard's cost is known
	// AllOnDemandUSD is what the rows would have cost on demand, when
	// some went through batch inference (SavingUSD the difference).
	AllOnDemandUSD, SavingUSD float64
	Complete                  bool // every shard is complete and none is missing
	// Errors counts the error rows of every shard by error_type.
	Errors tally.Totals
	// Journaled counts the rows durable in the journal that no data file
	// holds yet (not in the counts above): a run is writing them out, or
	// the next run will.
	Journaled int64
}

// NewStatus sums up manifests (in any order), each given as its JSON.
func NewStatus(manifests [][]byte) (*Status, error) {
	s := &Status{Complete: true, CostKnown: true}
	count := 0
	seen := map[int]bool{}
	for _, data := range manifests {
		var m Manifest
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("reading a manifest: %w", err)
		}
		s.Shards = append(s.Shards, m)
		seen[m.Shard.Index] = true
		count = max(count, m.Shard.Count)
		s.Total.Records += m.Counts.Records
		s.Total.OK += m.Counts.OK
		s.Total.Error += m.Counts.Error
		s.Tokens.Input += m.Tokens.Input
		s.Tokens.Output += m.Tokens.Output
		s.Tokens.Total += m.Tokens.Total
		s.Tokens.CacheRead += m.Tokens.CacheRead
		s.Tokens.CacheWrite += m.Tokens.CacheWrite
		if m.CostUSD != nil {
			s.CostUSD += *m.CostUSD
			all := *m.CostUSD
			if m.CostAllOnDemandUSD != nil {
				all = *m.CostAllOnDemandUSD
			}
			s.AllOnDemandUSD += all
		} else {
			s.CostKnown = false
		}
		s.Complete = s.Complete && m.Complete
		s.Errors.Merge(tally.Totals{Errors: m.Errors})
	}
	sort.Slice(s.Shards, func(i, j int) bool { return s.Shards[i].Shard.Index < s.Shards[j].Shard.Index })
	for i := 0; i < count; i++ {
		if !seen[i] {
			s.Missing = append(s.Missing, i)
		}
	}
	s.Complete = s.Complete && len(s.Missing) == 0 && len(s.Shards) > 0
	s.SavingUSD = s.AllOnDemandUSD - s.CostUSD
	return s, nil
}

// Print writes the status as a table: one line per shard, then the total.
// The shard table comes last, so its total is the last line.
func (s *Status) Print(w io.Writer) error {
	if err := s.printModels(w); err != nil {
		return err
	}
	if s.Journaled > 0 {
		fmt.Fprintf(w, "journaled: %d rows are durable in the journal (_journal/) and not yet in a data file or the counts below: a run is writing them out, or the next run will\n", s.Journaled)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shard\trecords\tok\terror\tinput tokens\toutput tokens\tcost USD\tcomplete\tlast run\t")
	for _, m := range s.Shards {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%v\t%s\t\n", m.Shard, m.Counts.Records, m.Counts.OK, m.Counts.Error,
			m.Tokens.Input, m.Tokens.Output, cost(m.CostUSD), m.Complete, m.EndedAt.Format("2006-01-02 15:04:05Z"))
	}
	for _, i := range s.Missing {
		fmt.Fprintf(tw, "%d/%d\t-\t-\t-\t-\t-\t-\tnot started\t-\t\n", i, s.Shards[0].Shard.Count)
	}
	total := "unknown"
	if s.CostKnown {
		total = fmt.Sprintf("%.4f", s.CostUSD)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t%s\t%v\t\t\n", s.Total.Records, s.Total.OK, s.Total.Error,
		s.Tokens.Input, s.Tokens.Output, total, s.Complete)
	if err := tw.Flush(); err != nil {
		return err
	}
	PrintErrors(w, s.Errors, s.Total.Error)
	if !s.Complete {
		_, err := fmt.Fprintln(w, "incomplete: run the same command again to finish (it resumes where the output stops)")
		return err
	}
	return nil
}

// PrintErrors says how many error rows there are of each error_type, with
// the most common message of each, and how to send their records again.
func PrintErrors(w io.Writer, t tally.Totals, rows int64) {
	if rows == 0 {
		return
	}
	fmt.Fprintln(w, "error rows by type:")
	for _, typ := range t.ErrorTypes() {
		e := t.Errors[typ]
		if e.Message != "" {
			fmt.Fprintf(w, "  %-28s %8d  %s\n", typ, e.Rows, e.Message)
		} else {
			fmt.Fprintf(w, "  %-28s %8d\n", typ, e.Rows)
		}
	}
	fmt.Fprintf(w, "%d error rows: fix what they say, then run the same command with --retry-errors to send their records again\n", rows)
}

// ExitStatus is what `batch status` exits with: 0 when the job is complete
// with no error rows, 3 when complete with some, 1 when not complete.
func (s *Status) ExitStatus() int {
	switch {
	case !s.Complete:
		return 1
	case s.Total.Error > 0:
		return 3
	}
	return 0
}

// printModels writes, per shard and model, the rows and cost and how the
// last run used the model's quota, and why a run stopped at a quota.
func (s *Status) printModels(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	header := false
	for _, m := range s.Shards {
		reports := map[string]QuotaReport{}
		for _, q := range m.Quotas {
			reports[q.Model] = q
		}
		ids := make([]string, 0, len(m.Models))
		for id := range m.Models {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if !header {
				fmt.Fprintln(tw, "shard\tmodel\trecords\tok\terror\tcost USD\tquota tpm\tburndown\treserved\tsettled\tachieved/quota\tthrottled\tday left\t")
				header = true
			}
			t := m.Models[id]
			q, ok := reports[id]
			if !ok {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t-\t-\t-\t-\t-\t-\t-\t\n", m.Shard, id, t.Records, t.OK, t.Error, cost(t.CostUSD))
				continue
			}
			dayLeft, quota, achieved := "-", "-", "-"
			if q.DailyLeft >= 0 {
				dayLeft = fmt.Sprint(q.DailyLeft)
			}
			if q.Quota.TokensPerMinute > 0 {
				quota, achieved = fmt.Sprint(q.Quota.TokensPerMinute), fmt.Sprintf("%.3f", q.AchievedOfQuota)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%g\t%d\t%d\t%s\t%d\t%s\t\n", m.Shard, id, t.Records, t.OK, t.Error,
				cost(t.CostUSD), quota, q.Burndown, q.ReservedTokens, q.SettledTokens, achieved, q.Throttled, dayLeft)
		}
	}
	if header {
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.CostKnown && s.SavingUSD > 0 {
		fmt.Fprintf(w, "batch inference saved $%.4f: all on demand would have cost $%.4f\n\n", s.SavingUSD, s.AllOnDemandUSD)
	}
	for _, m := range s.Shards {
		models := make([]string, 0, len(m.StoppedAtQuota))
		for id := range m.StoppedAtQuota {
			models = append(models, id)
		}
		sort.Strings(models)
		for _, id := range models {
			fmt.Fprintf(w, "shard %s stopped at the daily quota of %s (%s): run the same command again after it resets\n\n", m.Shard, id, m.StoppedAtQuota[id])
		}
	}
	return nil
}

func cost(c *float64) string {
	if c == nil {
		return "unknown"
	}
	return fmt.Sprintf("%.4f", *c)
}
