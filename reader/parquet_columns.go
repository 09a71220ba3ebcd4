package reader

import (
	"errors"
	"fmt"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
)

// colRole is what a column of a Parquet file is for.
type colRole uint8

// The roles; roleNone is also the slot decode drops unused values in.
const (
	roleNone colRole = iota
	roleID
	rolePrompt
	roleSystem
	roleMessages
	roleMetadata
	roleModel
	roleMaxTokens
	roleTemperature
	roleTopP
	roleInference
	roleAdditional
	numRoles
)

// leafRole says what one leaf column is for; a column may also be a media
// column and a kept one.
type leafRole struct {
	role  colRole
	media int // 1 + index in parquetColumns.media; 0 for none
	keep  int // 1 + index in parquetColumns.keep; 0 for none
}

// mediaColumn is a column of documents or images.
type mediaColumn struct {
	field    string
	kind     mediaKind
	text     bool // annotated as a string: its values are references, never raw bytes
	repeated bool // a list: one value per element
}

// keepColumn is a flat column copied to Record.Fields.
type keepColumn struct {
	name     string
	unsigned bool
}

// parquetColumns maps the leaf columns of a file, by column index, to what
// they are for, so decoding a row is one table look-up per value.
type parquetColumns struct {
	leaves       []leafRole
	has          [numRoles]bool
	idUnsigned   bool // id is an unsigned integer
	hasOverrides bool // one of the model and inference columns is present
	media        []mediaColumn
	keep         []keepColumn
}

// columnKinds are the physical types a role's column may have.
type columnKinds int

const (
	stringColumn columnKinds = iota
	idColumn                 // a string or an integer
	numberColumn             // an integer or a float
)

// lookupColumns finds the columns of a record in the schema and checks
// their types.
func lookupColumns(schema *parquet.Schema, o *options) (parquetColumns, error) {
	cols := parquetColumns{leaves: make([]leafRole, len(schema.Columns()))}
	for _, c := range []struct {
		role  colRole
		name  string
		kinds columnKinds
	}{
		{roleID, o.idField, idColumn},
		{rolePrompt, o.promptField, stringColumn},
		{roleSystem, "system", stringColumn},
		{roleMessages, "messages", stringColumn},
		{roleMetadata, "metadata", stringColumn},
		{roleModel, "model", stringColumn},
		{roleMaxTokens, "max_tokens", numberColumn},
		{roleTemperature, "temperature", numberColumn},
		{roleTopP, "top_p", numberColumn},
		{roleInference, "inference_config", stringColumn},
		{roleAdditional, "additional_model_request_fields", stringColumn},
	} {
		field := topField(schema, c.name)
		if field == nil {
			continue
		}
		if !field.Leaf() || field.Repeated() {
			return cols, fmt.Errorf("column %q must be a flat column, not a nested or repeated one", c.name)
		}
		kind := field.Type().Kind()
		switch {
		case kind == parquet.ByteArray && c.kinds != numberColumn:
		case (kind == parquet.Int32 || kind == parquet.Int64) && c.kinds == idColumn:
			cols.idUnsigned = isUnsigned(field.Type())
		case (kind == parquet.Int32 || kind == parquet.Int64 || kind == parquet.Float || kind == parquet.Double) && c.kinds == numberColumn:
		case c.kinds == idColumn:
			return cols, fmt.Errorf("column %q has type %s; want a string or an integer", c.name, field.Type())
		case c.kinds == numberColumn:
			return cols, fmt.Errorf("column %q has type %s; want a number", c.name, field.Type())
		default:
			return cols, fmt.Errorf("column %q has type %s; want a string", c.name, field.Type())
		}
		leaf, ok := schema.Lookup(c.name)
		if !ok {
			return cols, fmt.Errorf("column %q not found among the leaf columns", c.name)
		}
		cols.leaves[leaf.ColumnIndex].role = c.role
		cols.has[c.role] = true
	}
	if !o.promptOpt && !cols.has[rolePrompt] && !cols.has[roleMessages] {
		return cols, errors.New(`no "` + o.promptField + `" or "messages" column`)
	}
	cols.hasOverrides = cols.has[roleModel] || cols.has[roleMaxTokens] || cols.has[roleTemperature] ||
		cols.has[roleTopP] || cols.has[roleInference] || cols.has[roleAdditional]
	if err := cols.lookupMedia(schema, o); err != nil {
		return cols, err
	}
	if o.keepFields {
		cols.lookupKeep(schema)
	}
	return cols, nil
}

// lookupMedia finds the document and image columns: flat string or binary
// columns, or lists of them.
func (cols *parquetColumns) lookupMedia(schema *parquet.Schema, o *options) error {
	for _, group := range []struct {
		names []string
		kind  mediaKind
	}{{o.documents, documentKind}, {o.images, imageKind}} {
		for _, name := range group.names {
			if topField(schema, name) == nil {
				continue
			}
			var leaves []int
			for i, path := range schema.Columns() {
				if path[0] == name {
					leaves = append(leaves, i)
				}
			}
			leaf, ok := schema.Lookup(schema.Columns()[leaves[0]]...)
			if len(leaves) != 1 || !ok || leaf.MaxRepetitionLevel > 1 || leaf.Node.Type().Kind() != parquet.ByteArray {
				return fmt.Errorf("column %q must be a string or binary column, or a list of them", name)
			}
			cols.media = append(cols.media, mediaColumn{
				field:    name,
				kind:     group.kind,
				text:     isStringType(leaf.Node.Type()),
				repeated: leaf.MaxRepetitionLevel == 1,
			})
			cols.leaves[leaf.ColumnIndex].media = len(cols.media)
		}
	}
	return nil
}

// lookupKeep lists the flat columns for Record.Fields. Nested and repeated
// columns are left out (a template sees only top-level scalars), and so
// are INT96 ones (legacy timestamps that have no plain Go value).
func (cols *parquetColumns) lookupKeep(schema *parquet.Schema) {
	for _, f := range schema.Fields() {
		if !f.Leaf() || f.Repeated() || f.Type().Kind() == parquet.Int96 {
			continue
		}
		leaf, ok := schema.Lookup(f.Name())
		if !ok {
			continue
		}
		cols.keep = append(cols.keep, keepColumn{name: f.Name(), unsigned: isUnsigned(f.Type())})
		cols.leaves[leaf.ColumnIndex].keep = len(cols.keep)
	}
}

// topField returns the top-level field called name, or nil.
func topField(schema *parquet.Schema, name string) parquet.Field {
	for _, f := range schema.Fields() {
		if f.Name() == name {
			return f
		}
	}
	return nil
}

// isUnsigned reports whether an integer column holds unsigned values.
func isUnsigned(t parquet.Type) bool {
	if lt := t.LogicalType(); lt != nil {
		it, ok := lt.Value.(*format.IntType)
		return ok && !it.IsSigned
	}
	return false
}

// isStringType reports whether a byte array column is annotated as text.
func isStringType(t parquet.Type) bool {
	if lt := t.LogicalType(); lt != nil {
		switch lt.Value.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType:
			return true
		}
	}
	if ct := t.ConvertedType(); ct != nil {
		switch *ct {
		case deprecated.UTF8, deprecated.Enum, deprecated.Json:
			return true
		}
	}
	return false
}
