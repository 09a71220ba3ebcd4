package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ExpandLocal turns local paths and glob patterns (filepath.Glob syntax)
// into the list of files to read. The matches of each pattern are sorted,
// patterns keep their order, and a file named twice is kept once, at its
// first place. A path that does not exist, or a pattern that matches no
// file, is an error wrapping os.ErrNotExist. Directories matched by a
// pattern are skipped; a directory named directly is an error.
func ExpandLocal(patterns []string) ([]string, error) {
	var out []string
	seen := make(map[string]bool)
	for _, p := range patterns {
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("input pattern %q: %w", p, err)
		}
		literal := !strings.ContainsAny(p, `*?[\`)
		if literal && len(matches) == 0 {
			_, err := os.Stat(p) // say why: not found, permission, ...
			if err == nil {
				err = os.ErrNotExist
			}
			return nil, fmt.Errorf("input %q: %w", p, err)
		}
		slices.Sort(matches)
		found := 0
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("input %q: %w", m, err)
			}
			if fi.IsDir() {
				if literal {
					return nil, fmt.Errorf("input %q is a directory; name its files or use a pattern such as %q", p, filepath.Join(p, "*.jsonl"))
				}
				continue
			}
			found++
			if key := filepath.Clean(m); !seen[key] {
				seen[key] = true
				out = append(out, m)
			}
		}
		if found == 0 {
			return nil, fmt.Errorf("input pattern %q matches no files: %w", p, os.ErrNotExist)
		}
	}
	return out, nil
}
