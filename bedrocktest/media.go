package bedrocktest

import (
	"fmt"
	"slices"
	"unicode"
)

// Converse's media limits (Bedrock user guide, "Converse API": Message).
const (
	// MaxImageBytes is the largest image Bedrock takes: 3.75 MB raw, which is the 5 MB
	// (5,242,880 bytes) Claude enforces on the base64 text, so the message quotes that.
	MaxImageBytes = 3_932_160
	// MaxImages is how many images one request may carry.
	MaxImages = 20
	// MaxDocumentBytes is the largest document: 4.5 MB.
	MaxDocumentBytes = 4_718_592
	// MaxDocuments is how many documents one request may carry.
	MaxDocuments = 5
)

// S3MediaBytes is the size the emulator assumes for an image or document given by
// s3Location, which it never reads, for counting its tokens.
const S3MediaBytes = 4000

// ImageTokens is the emulator's input-token count for an image of size bytes:
// 85 + ceil(size/1000). Real models count pixels (about width×height/750 for Claude); without
// decoding the image the size is the honest stand-in, and the 85 is the fixed per-image cost
// some models charge. An s3Location image counts as S3MediaBytes bytes.
func ImageTokens(size int) int64 {
	return 85 + int64((size+999)/1000)
}

// DocumentTokens is the emulator's input-token count for a document of the given format and
// content: the words (CountTokens) of a text format (txt, md, csv, html), ceil(len/4) of any
// other (pdf, doc, docx, xls, xlsx), as if a binary document held four bytes per token. A
// document given as source.text or source.content counts the words of its text; one given by
// s3Location counts S3MediaBytes/4.
func DocumentTokens(format string, content []byte) int64 {
	if textFormat(format) {
		return CountTokens(string(content))
	}
	return int64((len(content) + 3) / 4)
}

func textFormat(format string) bool {
	switch format {
	case "txt", "md", "csv", "html":
		return true
	}
	return false
}

var (
	imageFormats    = []string{"png", "jpeg", "gif", "webp"}
	documentFormats = []string{"pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"}
)

// imageTokens counts one image block.
func imageTokens(img *imageBlock) int64 {
	if img.Source.S3Location != nil {
		return ImageTokens(S3MediaBytes)
	}
	return ImageTokens(len(img.Source.Bytes))
}

// documentTokens counts one document block.
func documentTokens(d *documentBlock) int64 {
	src := &d.Source
	switch {
	case src.S3Location != nil:
		return S3MediaBytes / 4
	case src.Text != nil:
		return CountTokens(*src.Text)
	case src.Content != nil:
		var n int64
		for _, b := range src.Content {
			if b.Text != nil {
				n += CountTokens(*b.Text)
			}
		}
		return n
	}
	return DocumentTokens(d.Format, src.Bytes)
}

// validateMedia checks every image and document: formats, sources, sizes, names, counts, and
// whether the model reads S3 locations.
func (c *call) validateMedia(o *Options) string {
	images, docs := 0, 0
	for i, m := range c.req.Messages {
		for j, b := range m.Content {
			switch {
			case b.Image != nil:
				images++
				if msg := c.validateImage(o, fmt.Sprintf("messages.%d.content.%d", i, j), b.Image); msg != "" {
					return msg
				}
			case b.Document != nil:
				docs++
				if msg := c.validateDocument(o, fmt.Sprintf("messages.%d.content.%d", i, j), b.Document); msg != "" {
					return msg
				}
			}
		}
	}
	if images > MaxImages {
		return modelError("messages: too many images: %d > %d", images, MaxImages)
	}
	if docs > MaxDocuments {
		return modelError("messages: too many documents: %d > %d", docs, MaxDocuments)
	}
	return ""
}

func (c *call) validateImage(o *Options, path string, img *imageBlock) string {
	if !slices.Contains(imageFormats, img.Format) {
		return enumError(img.Format, path+".image.format", "png, jpeg, gif, webp")
	}
	if msg := c.validateSource(o, path+".image.source", &img.Source, false); msg != "" {
		return msg
	}
	if n := len(img.Source.Bytes); n > MaxImageBytes {
		// Claude checks the base64 text against 5 MB; 3.75 MB raw is the same limit.
		return modelError("%s.image.source.bytes: image exceeds 5 MB maximum: %d bytes > 5242880 bytes", path, (n+2)/3*4)
	}
	return ""
}

func (c *call) validateDocument(o *Options, path string, d *documentBlock) string {
	if d.Format != "" && !slices.Contains(documentFormats, d.Format) {
		return enumError(d.Format, path+".document.format", "pdf, csv, doc, docx, xls, xlsx, html, txt, md")
	}
	if d.Name == nil || *d.Name == "" {
		return fmt.Sprintf("1 validation error detected: Value at '%s.document.name' failed to satisfy constraint: Member must have length greater than or equal to 1", path)
	}
	if !validDocumentName(*d.Name) {
		return "The document file name can only contain alphanumeric characters, whitespace characters, hyphens, parentheses, and square brackets. The name can't contain more than one consecutive whitespace character."
	}
	if msg := c.validateSource(o, path+".document.source", &d.Source, true); msg != "" {
		return msg
	}
	if n := len(d.Source.Bytes); n > MaxDocumentBytes {
		return modelError("%s.document.source.bytes: document exceeds 4.5 MB maximum: %d bytes > %d bytes", path, n, MaxDocumentBytes)
	}
	return ""
}

// validateSource checks that a source is exactly one member of its union, and an s3Location
// only for a model in Options.S3LocationModels.
func (c *call) validateSource(o *Options, path string, src *mediaSource, document bool) string {
	n := 0
	for _, set := range []bool{src.Bytes != nil, src.S3Location != nil, document && src.Text != nil, document && src.Content != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		members := "bytes or s3Location"
		if document {
			members = "bytes, s3Location, text or content"
		}
		return fmt.Sprintf("%s: exactly one member must be set (%s).", path, members)
	}
	if s := src.S3Location; s != nil {
		if s.URI == "" {
			return fmt.Sprintf("1 validation error detected: Value at '%s.s3Location.uri' failed to satisfy constraint: Member must not be null", path)
		}
		if !modelListed(o.S3LocationModels, c.modelID) {
			// Claude answers with a confusing field error; the note says what it means.
			return modelError("%s.type: Field required (bedrocktest: model %s doesn't support an s3Location source; send the bytes instead)", path, c.modelID)
		}
	}
	return ""
}

// validDocumentName reports whether name has only alphanumerics, single whitespace characters,
// hyphens, parentheses and square brackets, as Bedrock requires.
func validDocumentName(name string) bool {
	prevSpace := false
	for _, r := range name {
		space := unicode.IsSpace(r)
		switch {
		case space && prevSpace:
			return false
		case space, unicode.IsLetter(r), unicode.IsDigit(r):
		case r == '-', r == '(', r == ')', r == '[', r == ']':
		default:
			return false
		}
		prevSpace = space
	}
	return true
}
