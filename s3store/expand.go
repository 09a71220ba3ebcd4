package s3store

import (
	"context"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// inputExtensions are the object name endings Expand takes under a prefix:
// the input formats of package reader.
var inputExtensions = []string{".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".parquet"}

// Expand turns one S3 input into the URIs of the objects to read, in key
// order:
//
//   - s3://bucket/key is that object; it must exist.
//   - s3://bucket/prefix/ (a trailing slash, or the bare bucket) is every
//     object under the prefix, at any depth, whose name ends in .jsonl,
//     .ndjson, .jsonl.gz, .ndjson.gz or .parquet (case ignored); names
//     starting with "_" or "." (bookkeeping such as _manifest.json) are
//     skipped.
//   - a key with glob metacharacters (* ? [ \) matches keys with
//     path.Match: a * or ? never crosses a "/". The listing starts at the
//     literal prefix before the first metacharacter. A pattern ending in a
//     slash matches "folders": it stands for the input objects under each
//     folder it matches, as a prefix does.
//
// Matching nothing, a missing key and a missing bucket are errors wrapping
// os.ErrNotExist; a denied listing or read wraps os.ErrPermission and says
// which permission is needed.
func (s *Store) Expand(ctx context.Context, pattern string) ([]string, error) {
	bucket, key, err := ParseURI(pattern)
	if err != nil {
		return nil, err
	}
	switch {
	case hasMeta(key):
		return s.expandGlob(ctx, bucket, key)
	case key == "" || strings.HasSuffix(key, "/"):
		return s.expandPrefix(ctx, bucket, key)
	}
	if _, err := s.head(ctx, bucket, key); err != nil {
		return nil, err
	}
	return []string{uri(bucket, key)}, nil
}

// expandPrefix lists the input objects under prefix.
func (s *Store) expandPrefix(ctx context.Context, bucket, prefix string) ([]string, error) {
	var out []string
	err := s.list(ctx, bucket, prefix, func(key string) {
		if isInputName(path.Base(key)) {
			out = append(out, uri(bucket, key))
		}
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("s3store: no input objects under %s (want names ending in %s): %w",
			uri(bucket, prefix), strings.Join(inputExtensions, ", "), os.ErrNotExist)
	}
	slices.Sort(out)
	return out, nil
}

// expandGlob lists the objects whose keys match the pattern.
func (s *Store) expandGlob(ctx context.Context, bucket, pattern string) ([]string, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("s3store: input pattern %s: %w", uri(bucket, pattern), err)
	}
	prefix := pattern[:strings.IndexAny(pattern, `*?[\`)]
	folders := strings.HasSuffix(pattern, "/")
	segments := strings.Count(pattern, "/") // of a folder pattern
	var out []string
	err := s.list(ctx, bucket, prefix, func(key string) {
		if strings.HasSuffix(key, "/") {
			return
		}
		if !folders {
			if ok, _ := path.Match(pattern, key); ok {
				out = append(out, uri(bucket, key))
			}
			return
		}
		// The key's first segments, up to the pattern's length, name its folder.
		i := 0
		for range segments {
			j := strings.IndexByte(key[i:], '/')
			if j < 0 {
				return
			}
			i += j + 1
		}
		if ok, _ := path.Match(pattern, key[:i]); ok && isInputName(path.Base(key)) {
			out = append(out, uri(bucket, key))
		}
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("s3store: input pattern %s matches no objects: %w", uri(bucket, pattern), os.ErrNotExist)
	}
	slices.Sort(out)
	return out, nil
}

// list calls fn with every key under prefix, at any depth.
func (s *Store) list(ctx context.Context, bucket, prefix string, fn func(key string)) error {
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket),
		Prefix: aws.String(prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.wrapErr("ListObjectsV2", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			fn(aws.ToString(o.Key))
		}
	}
	return nil
}

// head returns the metadata of an object. A missing object is told apart
// from a missing bucket, and a key that is a "folder" gets a hint.
func (s *Store) head(ctx context.Context, bucket, key string) (*s3.HeadObjectOutput, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err == nil {
		return out, nil
	}
	if !isNotFound(err) {
		return nil, s.wrapErr("HeadObject", bucket, key, err)
	}
	// HEAD answers carry no error code: ask a listing what is missing.
	lst, lerr := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket), Prefix: aws.String(key + "/"), MaxKeys: aws.Int32(1),
	})
	if code, _ := errorCode(lerr); code == "NoSuchBucket" {
		return nil, s.wrapErr("HeadObject", bucket, key, lerr)
	}
	werr := s.wrapErr("HeadObject", bucket, key, err).(*opError)
	if lerr == nil && len(lst.Contents) > 0 {
		werr.reason += fmt.Sprintf("; objects exist under %s: end the URI with a slash to read them", uri(bucket, key+"/"))
	}
	return nil, werr
}

// isInputName reports whether an object's base name is an input file.
func isInputName(name string) bool {
	if strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
		return false
	}
	lower := strings.ToLower(name)
	return slices.ContainsFunc(inputExtensions, func(ext string) bool { return strings.HasSuffix(lower, ext) })
}

// hasMeta reports whether a key holds glob metacharacters.
func hasMeta(key string) bool { return strings.ContainsAny(key, `*?[\`) }
