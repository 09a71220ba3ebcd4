package reader

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
)

// mediaKind is whether a media value is an image or a document: the two take
// different formats, and only documents have names.
type mediaKind bool

const (
	imageKind    mediaKind = false
	documentKind mediaKind = true
)

func (k mediaKind) String() string {
	if k == documentKind {
		return "document"
	}
	return "image"
}

// Converse formats by file extension or format name. The aliases (jpg, htm,
// markdown) are what files are called; the values are what Converse takes.
var (
	imageFormats = map[string]string{
		"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif", "webp": "webp",
	}
	documentFormats = map[string]string{
		"pdf": "pdf", "csv": "csv", "doc": "doc", "docx": "docx", "xls": "xls", "xlsx": "xlsx",
		"html": "html", "htm": "html", "txt": "txt", "md": "md", "markdown": "md",
	}
	mimeFormats = map[string]string{
		"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp",
		"application/pdf": "pdf", "text/csv": "csv", "application/msword": "doc",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
		"application/vnd.ms-excel": "xls",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
		"text/html": "html", "text/plain": "txt", "text/markdown": "md", "text/x-markdown": "md",
	}
)

// formats returns the format table of the kind and the list of names for
// error messages.
func (k mediaKind) formats() (map[string]string, string) {
	if k == documentKind {
		return documentFormats, "pdf, csv, doc, docx, xls, xlsx, html, txt or md"
	}
	return imageFormats, "png, jpeg, gif or webp"
}

// normalFormat returns the Converse format of a format name or extension.
func (k mediaKind) normalFormat(name string) (string, bool) {
	table, _ := k.formats()
	f, ok := table[strings.ToLower(name)]
	return f, ok
}

// parseReference turns a string naming media (an s3:// URI, a local path or
// a data: URI) into Media. The reason is empty on success. remote is the
// reason given for an http(s) URL, which differs by format.
func parseReference(s string, kind mediaKind, remote string) (*Media, string) {
	lower := strings.ToLower(s)
	switch {
	case s == "":
		return nil, "must not be empty"
	case strings.HasPrefix(lower, "data:"):
		return parseDataURI(s, kind)
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		return nil, remote
	case strings.HasPrefix(lower, "s3://"):
		if reason := checkS3URI(s); reason != "" {
			return nil, reason
		}
	case strings.Contains(s, "://"):
		scheme, _, _ := strings.Cut(s, "://")
		return nil, fmt.Sprintf("unsupported URI scheme %q: want s3://, a local path or a data: URI", scheme)
	}
	m, reason := locationMedia(s, kind)
	if reason != "" {
		return nil, reason
	}
	return m, ""
}

// checkS3URI says why s is not an s3://bucket/key URI, or "".
func checkS3URI(s string) string {
	if bucket, key, _ := strings.Cut(s[len("s3://"):], "/"); bucket == "" || key == "" {
		return fmt.Sprintf("%q is not an s3://bucket/key URI", s)
	}
	return ""
}

// locationMedia makes Media of an s3:// URI or a local path, with the format
// from its extension and, for a document, the name from its base name. When
// the extension tells no format, Format is empty and reason says why.
func locationMedia(s string, kind mediaKind) (m *Media, reason string) {
	m = &Media{Location: s}
	base := s[strings.LastIndexAny(s, `/\`)+1:]
	stem, ext := base, ""
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		stem, ext = base[:i], base[i+1:]
	}
	if kind == documentKind {
		m.Name = documentName(stem)
	}
	if ext == "" {
		return m, fmt.Sprintf("%q has no extension to tell its %s format from", s, kind)
	}
	f, ok := kind.normalFormat(ext)
	if !ok {
		_, want := kind.formats()
		return m, fmt.Sprintf("unknown %s extension %q: want %s", kind, "."+ext, want)
	}
	m.Format = f
	return m, ""
}

// parseDataURI decodes data:<mime>[;param...];base64,<data>.
func parseDataURI(s string, kind mediaKind) (*Media, string) {
	meta, data, ok := strings.Cut(s[len("data:"):], ",")
	if !ok {
		return nil, "data: URI has no comma before its data"
	}
	params := strings.Split(meta, ";")
	if !strings.EqualFold(params[len(params)-1], "base64") {
		return nil, "data: URI must be base64-encoded (data:<mime>;base64,...)"
	}
	mime := strings.ToLower(strings.TrimSpace(params[0]))
	f, ok := mimeFormats[mime]
	if ok {
		_, ok = kind.normalFormat(f)
	}
	if !ok {
		_, want := kind.formats()
		return nil, fmt.Sprintf("unsupported media type %q for a %s: want %s", mime, kind, want)
	}
	b, reason := decodeBase64(data)
	if reason != "" {
		return nil, "data: URI " + reason
	}
	return &Media{Format: f, Bytes: b}, ""
}

// decodeBase64 decodes standard base64, with or without padding.
func decodeBase64(s string) ([]byte, string) {
	s = strings.TrimRight(s, "=")
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, "is not valid base64: " + err.Error()
	}
	if len(b) == 0 {
		return nil, "holds no data"
	}
	return b, ""
}

// sniffFormat tells the Converse format of raw bytes from their first bytes,
// for the formats that have a magic number. Office files (zip or OLE
// containers) and text formats cannot be told this way.
func sniffFormat(b []byte) (format string, kind mediaKind, ok bool) {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png", imageKind, true
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "jpeg", imageKind, true
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif", imageKind, true
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp", imageKind, true
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return "pdf", documentKind, true
	}
	return "", imageKind, false
}

// rawMedia makes Media of raw bytes whose format is sniffed. The reason is
// empty on success.
func rawMedia(b []byte, kind mediaKind) (*Media, string) {
	f, k, ok := sniffFormat(b)
	switch {
	case !ok:
		return nil, fmt.Sprintf("raw bytes of an unknown format: give a %s as PNG, JPEG, GIF, WebP or PDF bytes, or as a URI or path", kind)
	case k != kind:
		return nil, fmt.Sprintf("raw bytes are a %s (%s), not a %s", k, f, kind)
	}
	return &Media{Format: f, Bytes: bytes.Clone(b)}, ""
}

// documentName makes a file name Bedrock's document name rule accepts:
// letters, digits, hyphens, parentheses, square brackets and single spaces.
// Any other character becomes a hyphen.
func documentName(stem string) string {
	var b strings.Builder
	space := false
	for _, c := range stem {
		switch {
		case c == ' ' || c == '\t':
			space = b.Len() > 0
			continue
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '(', c == ')', c == '[', c == ']':
		default:
			c = '-'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(c)
	}
	return b.String()
}
