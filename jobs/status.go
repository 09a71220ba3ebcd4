package jobs

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// IsManifestName reports whether name is a shard's manifest.
func IsManifestName(name string) bool {
	return name == ManifestName || (strings.HasPrefix(name, "_manifest-") && strings.HasSuffix(name, ".json"))
}

// Status is a job's state across its shards, from their manifests.
type Status struct {
	Shards    []Manifest
	Missing   []int // shard indexes of a sharded job with no manifest yet
	Total     Counts
	Tokens    Tokens
	CostUSD   float64
	CostKnown bool // every shard's cost is known
	Complete  bool // every shard is complete and none is missing
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
		} else {
			s.CostKnown = false
		}
		s.Complete = s.Complete && m.Complete
	}
	sort.Slice(s.Shards, func(i, j int) bool { return s.Shards[i].Shard.Index < s.Shards[j].Shard.Index })
	for i := 0; i < count; i++ {
		if !seen[i] {
			s.Missing = append(s.Missing, i)
		}
	}
	s.Complete = s.Complete && len(s.Missing) == 0 && len(s.Shards) > 0
	return s, nil
}

// Print writes the status as a table: one line per shard, then the total.
func (s *Status) Print(w io.Writer) error {
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
	return tw.Flush()
}

func cost(c *float64) string {
	if c == nil {
		return "unknown"
	}
	return fmt.Sprintf("%.4f", *c)
}
