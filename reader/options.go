package reader

import "slices"

// Options change how records are read. The zero value reads our native
// fields as NewJSONL and NewParquet always have.
type Options struct {
	// IDField is the field (JSONL) or column (Parquet) that holds a record's
	// id; "" means "id". Batch-format records use their own id field
	// (recordId, custom_id) whatever this says.
	IDField string
	// PromptField is the field or column that holds the prompt text; ""
	// means "prompt".
	PromptField string
	// KeepFields fills Record.Fields with every top-level field of a record,
	// for templates that render prompts from fields. JSONL lines are decoded
	// with encoding/json and UseNumber. Parquet gives every flat column:
	// strings as string, integers as int64 (an unsigned 64-bit value above
	// math.MaxInt64 as uint64), floats as float64, booleans as bool, byte
	// arrays that are not valid UTF-8 as []byte and nulls as nil; nested
	// and repeated columns, and INT96 ones, are left out.
	KeepFields bool
	// PromptOptional makes a record with neither a prompt nor messages valid:
	// a template renders its prompt later. Its Messages is nil, or, when it
	// has documents or images, one user message holding only them, to which
	// the rendered text is to be appended.
	PromptOptional bool
	// DocumentFields and ImageFields name the fields whose values become
	// document and image blocks at the start of the first user message
	// (documents first, then images, then the text). A value is a string or
	// an array of strings, each an s3:// URI, a local path or a
	// data:<mime>;base64,... URI; in Parquet also raw bytes (a BYTE_ARRAY
	// column without the STRING annotation) of a PNG, JPEG, GIF, WebP or
	// PDF file. The format comes from the extension or the mime type, a
	// document's name from its file's base name; a path or URI is kept in
	// Media.Location for the request builder to read (a relative path is
	// relative to the working directory). An unknown extension or an
	// http(s) URL makes the record invalid, naming the field. nil means
	// ["documents"] and ["images"]; an empty, non-nil slice means none.
	DocumentFields, ImageFields []string
}

// options are Options with the defaults filled in.
type options struct {
	idField, promptField  string
	keepFields, promptOpt bool
	documents, images     []string
	hasMediaFields        bool
	mediaOrder            []string // documents, then images
}

// resolve fills in the defaults.
func (o Options) resolve() options {
	r := options{
		idField:     o.IDField,
		promptField: o.PromptField,
		keepFields:  o.KeepFields,
		promptOpt:   o.PromptOptional,
		documents:   slices.Clone(o.DocumentFields), // nil stays nil
		images:      slices.Clone(o.ImageFields),
	}
	if r.idField == "" {
		r.idField = "id"
	}
	if r.promptField == "" {
		r.promptField = "prompt"
	}
	if r.documents == nil {
		r.documents = []string{"documents"}
	}
	if r.images == nil {
		r.images = []string{"images"}
	}
	r.hasMediaFields = len(r.documents)+len(r.images) > 0
	r.mediaOrder = append(slices.Clip(r.documents), r.images...)
	return r
}

// mediaField tells whether name is one of the document or image fields.
func (o *options) mediaField(name []byte) (isDoc, ok bool) {
	for _, f := range o.documents {
		if string(name) == f {
			return true, true
		}
	}
	for _, f := range o.images {
		if string(name) == f {
			return false, true
		}
	}
	return false, false
}

// WithOptions makes f read every file with o. It must be called before the
// first Next; it returns f.
func (f *Files) WithOptions(o Options) *Files {
	f.opts = o
	return f
}
