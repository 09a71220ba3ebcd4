package reader

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// overrides reads the row's own model and inference parameters. The JSON
// inference_config is read first so that the flat columns, the plainer way
// to say one parameter, win over it.
func (r *ParquetReader) overrides(vals *[numRoles]parquet.Value, rec *Record) *fieldError {
	if b, ok := present(vals[roleInference]); ok {
		obj, err := jsonColumn(b, "inference_config")
		if err == nil {
			err = parseInference(obj, snakeInference, &rec.Inference, &r.scratch).under("inference_config")
		}
		if err != nil {
			return err
		}
	}
	if b, ok := present(vals[roleModel]); ok {
		if at := invalidUTF8At(b); at >= 0 {
			return &fieldError{"model", fmt.Sprintf("invalid UTF-8 at byte %d", at)}
		}
		rec.ModelID = string(b)
	}
	var err *fieldError
	if v := vals[roleMaxTokens]; !v.IsNull() {
		if rec.Inference.MaxTokens, err = checkMaxTokens(numberOf(v)); err != nil {
			return err.under("max_tokens")
		}
	}
	if v := vals[roleTemperature]; !v.IsNull() {
		if rec.Inference.Temperature, err = checkNonNegative(numberOf(v)); err != nil {
			return err.under("temperature")
		}
	}
	if v := vals[roleTopP]; !v.IsNull() {
		if rec.Inference.TopP, err = checkNonNegative(numberOf(v)); err != nil {
			return err.under("top_p")
		}
	}
	if b, ok := present(vals[roleAdditional]); ok {
		obj, err := jsonColumn(b, "additional_model_request_fields")
		if err == nil {
			rec.AdditionalFields, err = parseObject(obj)
			err = err.under("additional_model_request_fields")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// present returns the bytes of a string value that is neither null nor
// empty.
func present(v parquet.Value) ([]byte, bool) {
	if v.IsNull() || len(v.ByteArray()) == 0 {
		return nil, false
	}
	return v.ByteArray(), true
}

// jsonColumn checks the JSON text of a column and returns it from its
// first non-space byte.
func jsonColumn(b []byte, field string) ([]byte, *fieldError) {
	if at := invalidUTF8At(b); at >= 0 {
		return nil, &fieldError{field, fmt.Sprintf("invalid UTF-8 at byte %d", at)}
	}
	if !json.Valid(b) {
		return nil, &fieldError{field, "not valid JSON"}
	}
	return b[skipSpace(b, 0):], nil
}

// numberOf is a numeric value as a float64.
func numberOf(v parquet.Value) float64 {
	switch v.Kind() {
	case parquet.Int32:
		return float64(v.Int32())
	case parquet.Int64:
		return float64(v.Int64())
	case parquet.Float:
		return float64(v.Float())
	}
	return v.Double()
}

// mediaBlocks turns the values of the document and image columns of the row
// into content blocks: all documents, then all images. A value of a column
// annotated as a string is an s3:// URI, a path or a data: URI; a value of
// a plain binary column is raw file bytes when they start with a known
// magic number, and otherwise read as a URI or path if it is one line of
// UTF-8.
func (r *ParquetReader) mediaBlocks() ([]Content, *fieldError) {
	var docs, images []Content
	for col, mc := range r.cols.media { // documents, then images, as in the Options
		if err := r.mediaColumn(col, mc, &docs, &images); err != nil {
			return nil, err
		}
	}
	return append(docs, images...), nil
}

// mediaColumn appends the blocks of one media column of the row.
func (r *ParquetReader) mediaColumn(col int, mc mediaColumn, docs, images *[]Content) *fieldError {
	i := 0
	for _, pm := range r.media {
		if pm.col != col {
			continue
		}
		field := mc.field
		if mc.repeated {
			field += index(i)
			i++
		}
		b := pm.v.ByteArray()
		var (
			m      *Media
			reason string
		)
		_, _, magic := sniffFormat(b)
		switch {
		case !mc.text && (magic || !utf8.Valid(b) || bytes.ContainsAny(b, "\n\x00")):
			m, reason = rawMedia(b, mc.kind)
		case !utf8.Valid(b):
			reason = fmt.Sprintf("invalid UTF-8 at byte %d", invalidUTF8At(b))
		default:
			m, reason = parseReference(string(b), mc.kind, remoteURL)
		}
		switch {
		case reason != "":
			return &fieldError{field, reason}
		case mc.kind == documentKind:
			*docs = append(*docs, Content{Document: m})
		default:
			*images = append(*images, Content{Image: m})
		}
	}
	return nil
}
