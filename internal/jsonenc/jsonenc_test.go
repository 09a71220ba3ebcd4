package jsonenc

import (
	"encoding/json"
	"strings"
	"testing"
)

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\x00\x1f\"\\", "<>&\u2028\u2029", "\xff\xc3(", "😀é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := string(AppendString(nil, s))
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		// json.Marshal escapes HTML characters; AppendString does not.
		w := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(want))
		if got != w {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, w)
		}
	})
}
