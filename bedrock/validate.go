package bedrock

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Limits Bedrock's Converse API puts on content, checked before a call so a
// record that breaks one fails at once as a BadRecord instead of spending a
// call (and a quota reservation) on a ValidationException. Sizes are of the
// raw bytes (Bedrock's "3.75 MB" is 3.75 MiB: 5 MiB once base64-encoded);
// content in S3 is Bedrock's to check. Counts are per request.
const (
	MaxImageBytes      = 3_932_160 // 3.75 MiB per image
	MaxImages          = 20        // images per request
	MaxDocumentBytes   = 4_718_592 // 4.5 MiB per document, except a PDF
	MaxDocuments       = 5         // documents per request
	MaxDocumentNameLen = 200       // characters in a document's name
	MaxToolNameLen     = 64        // characters in a tool's name
)

var (
	imageFormats    = []string{"png", "jpeg", "gif", "webp"}
	documentFormats = []string{"pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"}
	serviceTiers    = []string{"default", "priority", "flex", "reserved"}
	latencies       = []string{"standard", "optimized"}
)

func invalidRequest(format string, args ...any) *Error {
	return &Error{Class: BadRecord, Type: TypeInvalidRequest, Message: fmt.Sprintf(format, args...), Local: true}
}

func invalidContent(format string, args ...any) *Error {
	return &Error{Class: BadRecord, Type: TypeInvalidContent, Message: fmt.Sprintf(format, args...), Local: true}
}

// validate checks req against the rules Bedrock enforces with a
// ValidationException. The JSON fields (tool schema, additional fields)
// are checked where they are parsed.
func validate(req *Request) *Error {
	images, documents := 0, 0
	for i, m := range req.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return invalidRequest("messages[%d]: role %q is not user or assistant", i, m.Role)
		}
		hasText, hasDocument := false, false
		for j, b := range m.Content {
			if err := checkBlock(i, j, m.Role, b); err != nil {
				return err
			}
			switch {
			case b.Image != nil:
				images++
			case b.Document != nil:
				documents++
				hasDocument = true
			case !b.CachePoint:
				hasText = true
			}
		}
		if hasDocument && !hasText {
			return invalidContent("messages[%d]: a message with a document must also have a text block", i)
		}
	}
	if images > MaxImages {
		return invalidContent("%d images in the request; Bedrock takes at most %d", images, MaxImages)
	}
	if documents > MaxDocuments {
		return invalidContent("%d documents in the request; Bedrock takes at most %d", documents, MaxDocuments)
	}
	if t := req.Tool; t != nil && !validToolName(t.Name) {
		return invalidRequest("tool name %q: 1 to %d letters, digits, underscores or hyphens", t.Name, MaxToolNameLen)
	}
	if g := req.Guardrail; g != nil && (g.ID == "" || g.Version == "") {
		return invalidRequest("guardrail: both an identifier and a version are required (got %q, %q)", g.ID, g.Version)
	}
	if req.ServiceTier != "" && !slices.Contains(serviceTiers, req.ServiceTier) {
		return invalidRequest("service tier %q is not one of %s", req.ServiceTier, strings.Join(serviceTiers, ", "))
	}
	if req.Latency != "" && !slices.Contains(latencies, req.Latency) {
		return invalidRequest("latency %q is not one of %s", req.Latency, strings.Join(latencies, ", "))
	}
	return nil
}

// checkBlock checks block j of message i: exactly one kind of content, and
// media Bedrock can take.
func checkBlock(i, j int, role string, b Block) *Error {
	if b.Image == nil && b.Document == nil && b.Text != "" && !b.CachePoint {
		return nil // the common case, without formatting a location
	}
	at := fmt.Sprintf("messages[%d].content[%d]", i, j)
	kinds := 0
	for _, set := range []bool{b.Text != "", b.Image != nil, b.Document != nil, b.CachePoint} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds == 0:
		return invalidRequest("%s: empty content block (Bedrock rejects a blank text)", at)
	case kinds > 1:
		return invalidRequest("%s: a block holds one of text, image, document or cache point, not several", at)
	case (b.Image != nil || b.Document != nil) && role != "user":
		return invalidContent("%s: images and documents may only be in user messages", at)
	case b.Image != nil:
		return checkMedia(at+": image", b.Image, imageFormats, MaxImageBytes)
	case b.Document != nil:
		if !ValidDocumentName(b.Document.Name) {
			return invalidContent("%s: document name %q: 1 to %d letters, digits, hyphens, parentheses, square brackets and single spaces (see DocumentName)",
				at, b.Document.Name, MaxDocumentNameLen)
		}
		limit := MaxDocumentBytes
		if b.Document.Format == "pdf" {
			// Claude 4 and later, and Nova, take larger PDFs (Bedrock user
			// guide, "API restrictions"); for other models Bedrock refuses
			// them itself, also as a BadRecord.
			limit = math.MaxInt
		}
		return checkMedia(at+": document", b.Document, documentFormats, limit)
	}
	return nil
}

func checkMedia(at string, m *Media, formats []string, maxBytes int) *Error {
	if !slices.Contains(formats, m.Format) {
		return invalidContent("%s format %q is not one of %s", at, m.Format, strings.Join(formats, ", "))
	}
	switch {
	case m.S3URI != "" && len(m.Bytes) > 0:
		return invalidContent("%s has both bytes and an S3 URI; send one", at)
	case m.S3URI != "":
		if !strings.HasPrefix(m.S3URI, "s3://") || len(m.S3URI) <= len("s3://") {
			return invalidContent("%s S3 URI %q does not start with s3://", at, m.S3URI)
		}
		if m.BucketOwner != "" && !isAccountID(m.BucketOwner) {
			return invalidContent("%s bucket owner %q is not a 12-digit account id", at, m.BucketOwner)
		}
	case len(m.Bytes) == 0:
		return invalidContent("%s is empty", at)
	case len(m.Bytes) > maxBytes:
		return invalidContent("%s is %d bytes; Bedrock takes at most %d", at, len(m.Bytes), maxBytes)
	}
	return nil
}

// ValidDocumentName reports whether Bedrock takes s as a document's name:
// 1 to MaxDocumentNameLen characters, each an ASCII letter or digit, a
// hyphen, a parenthesis, a square bracket or a space, never two spaces in a
// row. That is the documented rule as Bedrock applies it: its "whitespace"
// is the ASCII space only (a tab or an ideographic space is refused), its
// "alphanumeric" is ASCII only (é is refused), and it also takes an
// underscore, which the documentation does not list (both seen in reports
// of live calls).
func ValidDocumentName(s string) bool {
	if len(s) == 0 || len(s) > MaxDocumentNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ':
			if i > 0 && s[i-1] == ' ' {
				return false
			}
		case !isNameChar(c) && c != '_':
			return false
		}
	}
	return true
}

// DocumentName turns a file name (or path) into a valid document name: the
// directory and the extension are dropped (the format says what the
// extension did), each run of characters outside the documented set
// ("_", ".", "'", non-ASCII letters) becomes one hyphen, each run of
// whitespace one space. A name with nothing left is "document".
func DocumentName(s string) string {
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, '.'); i > 0 {
		s = s[:i]
	}
	var b strings.Builder
	var last byte // the separator last written, to collapse runs
	for _, r := range s {
		switch {
		case r < 0x80 && isNameChar(byte(r)):
			b.WriteRune(r)
			last = 0
		case r < 0x80 && isSpace(byte(r)):
			if last != ' ' && b.Len() > 0 {
				b.WriteByte(' ')
				last = ' '
			}
		default:
			if last != '-' {
				b.WriteByte('-')
				last = '-'
			}
		}
		if b.Len() >= MaxDocumentNameLen {
			break
		}
	}
	name := strings.TrimRight(b.String()[:min(b.Len(), MaxDocumentNameLen)], " ")
	if strings.Trim(name, "-") == "" {
		return "document"
	}
	return name
}

func isNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '(' || c == ')' || c == '[' || c == ']'
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// validToolName is Bedrock's ToolName pattern, [a-zA-Z0-9_-]{1,64}.
func validToolName(s string) bool {
	if len(s) == 0 || len(s) > MaxToolNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
