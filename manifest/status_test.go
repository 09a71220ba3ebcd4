package manifest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
)

// TestReadStatusCountsJournaledRows: rows durable in the journal and in no
// data file yet are visible in status, with a manifest or before the first
// one; a group whose data file is committed counts in the data file only,
// and a torn last line counts nowhere.
func TestReadStatusCountsJournaledRows(t *testing.T) {
	const (
		pending    = "_journal/part-20261201T000000Z-aaaaaa-00001/000000.jsonl"
		pending2   = "_journal/part-20261201T000000Z-aaaaaa-00001/000001.jsonl"
		otherShard = "_journal/part-s0001of0002-20261201T000000Z-bbbbbb-00000/000000.jsonl"
		written    = "_journal/part-20261201T000000Z-aaaaaa-00000/000000.jsonl"
	)
	files := map[string]string{
		pending:    "{\"id\":\"1\"}\n{\"id\":\"2\"}\n",
		pending2:   "{\"id\":\"3\"}\n{\"id\":\"4\"", // torn: a kill cut the write short
		otherShard: "{\"id\":\"5\"}\n",
		written:    "{\"id\":\"6\"}\n{\"id\":\"7\"}\n",
		"part-20261201T000000Z-aaaaaa-00000.jsonl": "{\"id\":\"6\"}\n{\"id\":\"7\"}\n",
	}
	for _, tt := range []struct {
		name     string
		manifest string
		want     int64
	}{
		{"before the first manifest", "", 4},
		{"beside a manifest", `{"complete": true, "counts": {"records": 2, "ok": 2}}`, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			out := storagetest.NewDir()
			for name, text := range files {
				out.Put(ctx, name, []byte(text))
			}
			if tt.manifest != "" {
				out.Put(ctx, Name, []byte(tt.manifest))
			}
			s, err := ReadStatus(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			if s.Journaled != tt.want {
				t.Errorf("Journaled = %d, want %d", s.Journaled, tt.want)
			}
			if s.Complete || s.ExitStatus() != 1 {
				t.Errorf("complete %v, exit %d with rows still in the journal", s.Complete, s.ExitStatus())
			}
			var b bytes.Buffer
			if err := s.Print(&b); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "journaled: 4 rows") {
				t.Errorf("status does not show the journaled rows:\n%s", b.String())
			}
		})
	}

	empty := storagetest.NewDir()
	if _, err := ReadStatus(context.Background(), empty); !errors.Is(err, ErrNoManifest) {
		t.Errorf("ReadStatus of an empty output = %v, want ErrNoManifest", err)
	}
}
