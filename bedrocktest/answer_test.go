package bedrocktest

import (
	"hash/fnv"
	"strings"
	"testing"
)

func TestCountTokensMatchesFields(t *testing.T) {
	for _, s := range countTokensCorpus {
		if got, want := CountTokens(s), int64(len(strings.Fields(s))); got != want {
			t.Errorf("CountTokens(%q) = %d, want %d", s, got, want)
		}
	}
}

var countTokensCorpus = []string{
	"", " ", "one", " one  two\tthree\nfour ", "a\u00a0b\u2003c", "\u3000x\u3000", "tab\v\fend\r",
	"bad\xffutf8 \xe2\x82", "héllo wörld", "\u0085nel\u0085",
}

func FuzzCountTokens(f *testing.F) {
	for _, s := range countTokensCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := CountTokens(s), int64(len(strings.Fields(s))); got != want {
			t.Errorf("CountTokens(%q) = %d, want %d", s, got, want)
		}
	})
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		name, prompt string
		contains     []string
	}{
		{"empty", "", []string{"to 0 words: nothing."}},
		{"short", "hello world", []string{"to 2 words: hello world."}},
		{"long keeps six words", "one two three four five six seven eight", []string{"to 8 words: one two three four five six."}},
		{"multi-line", "first line\nsecond", []string{"to 3 words: first line second."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Answer(tt.prompt)
			if a != Answer(tt.prompt) {
				t.Fatal("Answer is not deterministic")
			}
			if n := CountTokens(a); n < 10 {
				t.Errorf("Answer(%q) = %q has %d words, want at least 10", tt.prompt, a, n)
			}
			for _, s := range tt.contains {
				if !strings.Contains(a, s) {
					t.Errorf("Answer(%q) = %q, want it to contain %q", tt.prompt, a, s)
				}
			}
		})
	}
	// Prompts that differ only after the quoted words still get different answers.
	a, b := Answer("w w w w w w w x"), Answer("w w w w w w w y")
	if a == b {
		t.Errorf("answers to different prompts are equal: %q", a)
	}
}

func TestMakeReply(t *testing.T) {
	answer := "one two three four five six seven"
	tests := []struct {
		name      string
		maxTokens *int32
		stops     []string
		text      string
		reason    string
		out       int64
	}{
		{"end turn", nil, nil, answer, stopEndTurn, 7},
		{"max tokens equal to length", ptr[int32](7), nil, answer, stopEndTurn, 7},
		{"max tokens", ptr[int32](3), nil, "one two three", stopMaxTokens, 3},
		{"stop sequence", nil, []string{"four"}, "one two three ", stopStopSequence, 3},
		{"earliest stop sequence wins", nil, []string{"six", "two", ""}, "one ", stopStopSequence, 1},
		{"stop sequence absent", nil, []string{"nine"}, answer, stopEndTurn, 7},
		{"max tokens before stop sequence", ptr[int32](2), []string{"five"}, "one two", stopMaxTokens, 2},
		{"stop sequence within max tokens", ptr[int32](5), []string{"three"}, "one two ", stopStopSequence, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := makeReply(answer, 11, tt.maxTokens, tt.stops)
			if r.text != tt.text || r.stopReason != tt.reason || r.outputTokens != tt.out || r.inputTokens != 11 {
				t.Errorf("makeReply = %+v, want text %q, reason %s, output %d", r, tt.text, tt.reason, tt.out)
			}
		})
	}
}

func BenchmarkAnswer(b *testing.B) {
	b.ReportAllocs()
	prompt := strings.Repeat("the quick brown fox jumps over the lazy dog ", 20)
	for b.Loop() {
		makeReply(Answer(prompt), CountTokens(prompt), ptr[int32](100), nil)
	}
}

func TestFNV(t *testing.T) {
	for _, s := range countTokensCorpus {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got, want := fnv64a(s), h.Sum64(); got != want {
			t.Errorf("fnv64a(%q) = %x, want %x", s, got, want)
		}
	}
}
