package reader

import (
	"strconv"
	"strings"
)

// The functions in this file read Converse content blocks from validated
// JSON. Their *fieldError names the field relative to the value they were
// given (".image.format", or "" for the value itself); the caller puts the
// path of the value in front with under, so a path is only built for a
// broken record.

// under returns the error with prefix put in front of its field; nil stays
// nil.
func (e *fieldError) under(prefix string) *fieldError {
	if e == nil {
		return nil
	}
	return &fieldError{prefix + e.field, e.reason}
}

// index formats "[i]".
func index(i int) string { return "[" + strconv.Itoa(i) + "]" }

// remoteURL is why an http(s) URL in a record is refused: reading the web
// from a batch run would make it depend on servers it does not control.
const remoteURL = "remote URLs are not fetched; use a data: URI, an s3:// URI or a local path"

// parseBlock decodes one Converse content block: {"text": ...},
// {"image": ...}, {"document": ...} or {"cachePoint": ...}. Other members
// (such as "type") are ignored, so {"type": "text", "text": ...} works too.
func parseBlock(block []byte, scratch *[]byte) (Content, *fieldError) {
	if block[0] != '{' {
		return Content{}, &fieldError{"", "must be an object, got " + kindOf(block)}
	}
	var text, image, document, cache []byte
	n := 0
	forEachMember(block, func(key, val []byte) bool {
		var p *[]byte
		switch {
		case keyIs(key, "text"):
			p = &text
		case keyIs(key, "image"):
			p = &image
		case keyIs(key, "document"):
			p = &document
		case keyIs(key, "cachePoint"):
			p = &cache
		default:
			return true
		}
		if *p == nil && !isNull(val) {
			n++
		}
		*p = val
		return true
	})
	switch {
	case n == 0:
		return Content{}, &fieldError{"", `must have one of "text", "image", "document" or "cachePoint"`}
	case n > 1:
		return Content{}, &fieldError{"", `must have only one of "text", "image", "document" and "cachePoint"`}
	case !isNull(text):
		if text[0] != '"' {
			return Content{}, &fieldError{".text", "must be a string, got " + kindOf(text)}
		}
		s := unquote(text, scratch)
		if s == "" {
			return Content{}, &fieldError{".text", "must not be empty"}
		}
		return Content{Text: s}, nil
	case !isNull(image):
		m, err := parseMedia(image, imageKind, scratch)
		if err != nil {
			return Content{}, err.under(".image")
		}
		return Content{Image: m}, nil
	case !isNull(document):
		m, err := parseMedia(document, documentKind, scratch)
		if err != nil {
			return Content{}, err.under(".document")
		}
		return Content{Document: m}, nil
	}
	if err := parseCachePoint(cache, scratch); err != nil {
		return Content{}, err.under(".cachePoint")
	}
	return Content{CachePoint: true}, nil
}

// parseCachePoint checks {"type": "default"}, the one kind of cache point
// Converse has; the type may be left out.
func parseCachePoint(v []byte, scratch *[]byte) *fieldError {
	if v[0] != '{' {
		return &fieldError{"", `must be an object such as {"type": "default"}, got ` + kindOf(v)}
	}
	var bad *fieldError
	forEachMember(v, func(key, val []byte) bool {
		if keyIs(key, "type") && !isNull(val) {
			if val[0] != '"' || unquote(val, scratch) != "default" {
				bad = &fieldError{".type", `must be "default"`}
			}
		}
		return bad == nil
	})
	return bad
}

// parseMedia decodes an image or a document: our shorthand string (an s3://
// URI, a local path or a data: URI) or a Converse object
// {"format": ..., "name": ..., "source": {"bytes": ...} | {"s3Location": {"uri": ..., "bucketOwner": ...}}}.
func parseMedia(v []byte, kind mediaKind, scratch *[]byte) (*Media, *fieldError) {
	switch v[0] {
	case '"':
		m, reason := parseReference(unquote(v, scratch), kind, remoteURL)
		if reason != "" {
			return nil, &fieldError{"", reason}
		}
		return m, nil
	case '{':
	default:
		return nil, &fieldError{"", "must be a string (an s3:// URI, a path or a data: URI) or an object, got " + kindOf(v)}
	}
	var format, name, source []byte
	forEachMember(v, func(key, val []byte) bool {
		switch {
		case keyIs(key, "format"):
			format = val
		case keyIs(key, "name"):
			name = val
		case keyIs(key, "source"):
			source = val
		}
		return true
	})
	m, err := parseSource(source, kind, scratch)
	if err != nil {
		return nil, err
	}
	switch {
	case !isNull(format) && format[0] != '"':
		return nil, &fieldError{".format", "must be a string, got " + kindOf(format)}
	case !isNull(format):
		f, ok := kind.normalFormat(unquote(format, scratch))
		if !ok {
			_, want := kind.formats()
			return nil, &fieldError{".format", "unknown " + kind.String() + " format " + strconv.Quote(unquote(format, scratch)) + ": want " + want}
		}
		m.Format = f
	case m.Format == "":
		return nil, &fieldError{".format", "missing, and it cannot be told from the source"}
	}
	if !isNull(name) && kind == documentKind {
		if name[0] != '"' {
			return nil, &fieldError{".name", "must be a string, got " + kindOf(name)}
		}
		m.Name = unquote(name, scratch) // as given: Bedrock checks it
	}
	return m, nil
}

// parseSource decodes a Converse media source: {"bytes": "<base64>"} or
// {"s3Location": {"uri": "s3://...", "bucketOwner": "..."}}. The format is
// filled in from the bytes or the URI's extension when it can be told.
func parseSource(v []byte, kind mediaKind, scratch *[]byte) (*Media, *fieldError) {
	switch {
	case isNull(v):
		return nil, &fieldError{".source", "missing"}
	case v[0] != '{':
		return nil, &fieldError{".source", "must be an object, got " + kindOf(v)}
	}
	var b64, loc []byte
	forEachMember(v, func(key, val []byte) bool {
		switch {
		case keyIs(key, "bytes"):
			b64 = val
		case keyIs(key, "s3Location"):
			loc = val
		}
		return true
	})
	switch {
	case !isNull(b64) && !isNull(loc):
		return nil, &fieldError{".source", `must have only one of "bytes" and "s3Location"`}
	case !isNull(b64):
		if b64[0] != '"' {
			return nil, &fieldError{".source.bytes", "must be a base64 string, got " + kindOf(b64)}
		}
		b, reason := decodeBase64(unquote(b64, scratch))
		if reason != "" {
			return nil, &fieldError{".source.bytes", reason}
		}
		m := &Media{Bytes: b}
		if f, k, ok := sniffFormat(b); ok && k == kind {
			m.Format = f
		}
		return m, nil
	case !isNull(loc):
		m, err := parseS3Location(loc, kind, scratch)
		if err != nil {
			return nil, err.under(".source.s3Location")
		}
		return m, nil
	}
	return nil, &fieldError{".source", `must have "bytes" or "s3Location"`}
}

// parseS3Location decodes {"uri": "s3://...", "bucketOwner": "..."}. An
// unknown extension is not an error here: the block's format may say it.
func parseS3Location(v []byte, kind mediaKind, scratch *[]byte) (*Media, *fieldError) {
	if v[0] != '{' {
		return nil, &fieldError{"", "must be an object, got " + kindOf(v)}
	}
	var uri, owner []byte
	forEachMember(v, func(key, val []byte) bool {
		switch {
		case keyIs(key, "uri"):
			uri = val
		case keyIs(key, "bucketOwner"):
			owner = val
		}
		return true
	})
	switch {
	case isNull(uri):
		return nil, &fieldError{".uri", "missing"}
	case uri[0] != '"':
		return nil, &fieldError{".uri", "must be a string, got " + kindOf(uri)}
	}
	s := unquote(uri, scratch)
	if !strings.HasPrefix(strings.ToLower(s), "s3://") {
		return nil, &fieldError{".uri", "must be an s3:// URI"}
	}
	if reason := checkS3URI(s); reason != "" {
		return nil, &fieldError{".uri", reason}
	}
	m, _ := locationMedia(s, kind) // an unknown extension is for "format" to make up
	switch {
	case isNull(owner):
	case owner[0] != '"':
		return nil, &fieldError{".bucketOwner", "must be a string, got " + kindOf(owner)}
	default:
		m.BucketOwner = unquote(owner, scratch)
	}
	return m, nil
}

// systemJoin separates the text of several system blocks.
const systemJoin = "\n\n"

// parseSystem decodes a system prompt: a string, or an array of Converse
// system blocks [{"text": ...}, ..., {"cachePoint": {...}}]. A cachePoint is
// only accepted after the last text block, the one place Record can say
// (CacheSystem).
func parseSystem(v []byte, scratch *[]byte) (text string, cache bool, err *fieldError) {
	switch v[0] {
	case '"':
		return unquote(v, scratch), false, nil
	case '[':
	default:
		return "", false, &fieldError{"", "must be a string or an array of system blocks, got " + kindOf(v)}
	}
	var parts []string
	forEachElement(v, func(i int, block []byte) bool {
		c, e := parseBlock(block, scratch)
		switch {
		case e != nil:
			err = e.under(index(i))
		case c.CachePoint && len(parts) == 0:
			err = &fieldError{index(i), "a cachePoint must follow the system text"}
		case c.CachePoint:
			cache = true
		case c.Text == "":
			err = &fieldError{index(i), `only "text" and "cachePoint" blocks are supported in a system prompt`}
		case cache:
			err = &fieldError{index(i), "a cachePoint is only supported after the last text block"}
		default:
			parts = append(parts, c.Text)
		}
		return err == nil
	})
	if err == nil && len(parts) == 0 {
		err = &fieldError{"", "must not be empty"}
	}
	if err != nil {
		return "", false, err
	}
	return strings.Join(parts, systemJoin), cache, nil
}
