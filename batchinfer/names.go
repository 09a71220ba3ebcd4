package batchinfer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Names must suit S3 URIs as CreateModelInvocationJob validates them (key segments of
// [-!_*'().a-zA-Z0-9]), job names ([a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\-.]){0,63}, at most
// 63) and client request tokens ([a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}): the run key
// and model ids, which hold ':', '/' and '.', are turned into slugs.

// slugReadable is how much of a string a slug keeps readable.
const slugReadable = 40

// slug returns s as lower-case [a-z0-9-]: its first letters and digits (runs of anything
// else become one '-'), then 10 hex digits of its SHA-256, so two different strings never
// share a slug even when their readable parts agree ("a:b" and "a/b").
func slug(s string) string { return slugOf(s, s) }

// modelSlug is slug for a model id, readable from its last '/': the model or profile
// name of an ARN.
func modelSlug(model string) string {
	return slugOf(model, model[strings.LastIndexByte(model, '/')+1:])
}

// slugOf is the slug of s, made readable from shown.
func slugOf(s, shown string) string {
	r := readable(shown, slugReadable)
	h := hash(s)[:10]
	if r == "" {
		return h
	}
	return r + "-" + h
}

// readable returns the letters and digits of s, lower-cased, runs of anything else as one
// '-', at most n bytes, with no '-' at either end.
func readable(s string, n int) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(s) && b.Len() < n; i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			if dash && b.Len() > 0 && b.Len() < n-1 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteByte(c)
			continue
		}
		dash = true
	}
	return b.String()
}

// hash is the hex SHA-256 of its parts, each ended by a NUL so that ("ab", "c") and
// ("a", "bc") differ.
func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// modelDir is the folder of a model's parts: "<run slug>/<model slug>".
func modelDir(runKey, model string) string { return slug(runKey) + "/" + modelSlug(model) }

// partName is the name of a model's n-th part.
func partName(runKey, model string, n int) string {
	return fmt.Sprintf("%s/part-%05d.jsonl", modelDir(runKey, model), n)
}

// partNumber returns n for a name "<dir>/part-<n>.jsonl", or false.
func partNumber(name, dir string) (int, bool) {
	rest, ok := strings.CutPrefix(name, dir+"/part-")
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutSuffix(rest, ".jsonl")
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// outPrefix is the folder a part's job writes to: "out/<part name without .jsonl>/".
// Bedrock puts its files under "<job id>/" in it.
func outPrefix(p *Part) string { return "out/" + strings.TrimSuffix(p.Name, ".jsonl") + "/" }

// outputName is the name of a part's output file: Bedrock's "<input name>.out" under the
// job's id (the last segment of its ARN) in the part's out prefix.
func outputName(p *Part) string {
	id := p.JobARN[strings.LastIndexByte(p.JobARN, '/')+1:]
	return outPrefix(p) + id + "/" + path.Base(p.Name) + ".out"
}

// JobName is the name Submit gives a part's job: the model and the part's file, readable
// in the console, and a hash of RunKey and the part's name that keeps it unique. It fits
// Bedrock's pattern and 63 characters.
func JobName(runKey string, p *Part) string {
	stem := readable(strings.TrimSuffix(path.Base(p.Name), ".jsonl"), 16)
	name := readable(p.Model[strings.LastIndexByte(p.Model, '/')+1:], 24)
	for _, s := range []string{stem, hash("job", runKey, p.Name)[:12]} {
		if s == "" {
			continue
		}
		if name != "" {
			name += "-"
		}
		name += s
	}
	return name
}

// ClientRequestToken is the token Submit sends for a part: derived from RunKey and the
// part's name only, so a resubmission after a crash (the ARN not yet saved) gets the job
// of the first submission back instead of a second job.
func ClientRequestToken(runKey string, p *Part) string { return hash("token", runKey, p.Name) }
