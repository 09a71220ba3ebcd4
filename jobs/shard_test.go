package jobs

import "testing"

func TestFinishedSiblings(t *testing.T) {
	me := Shard{Index: 1, Count: 4}
	files := map[string]string{
		Shard{Index: 0, Count: 4}.ManifestName(): `{"complete": true}`,
		Shard{Index: 1, Count: 4}.ManifestName(): `{"complete": true}`, // itself: not counted
		Shard{Index: 2, Count: 4}.ManifestName(): `{"complete": false}`,
		Shard{Index: 0, Count: 2}.ManifestName(): `{"complete": true}`, // another split of the output
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	got, err := FinishedSiblings(me, names, func(n string) ([]byte, error) { return []byte(files[n]), nil })
	if err != nil || got != 1 {
		t.Fatalf("FinishedSiblings = %d, %v; want 1 (shard 0 of 4)", got, err)
	}
}
