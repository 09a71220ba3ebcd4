package reader

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// jsonFields decodes the top-level fields of a valid JSON object for
// Record.Fields. Numbers stay json.Number, so an id such as
// 12345678901234567890 or a price such as 0.10 renders as it was written.
func jsonFields(obj []byte) map[string]any {
	d := json.NewDecoder(bytes.NewReader(obj))
	d.UseNumber()
	var m map[string]any
	if d.Decode(&m) != nil {
		return nil // not reached: the line was validated as an object
	}
	return m
}

// keptValue is the Go value of a Parquet value for Record.Fields. It never
// aliases the page the value was read from.
func keptValue(v parquet.Value, unsigned bool) any {
	if v.IsNull() {
		return nil
	}
	switch v.Kind() {
	case parquet.Boolean:
		return v.Boolean()
	case parquet.Int32:
		if unsigned {
			return int64(uint32(v.Int32()))
		}
		return int64(v.Int32())
	case parquet.Int64:
		if unsigned && v.Int64() < 0 {
			return uint64(v.Int64())
		}
		return v.Int64()
	case parquet.Float:
		return float64(v.Float())
	case parquet.Double:
		return v.Double()
	case parquet.ByteArray, parquet.FixedLenByteArray:
		if b := v.ByteArray(); utf8.Valid(b) {
			return string(b)
		}
		return bytes.Clone(v.ByteArray())
	}
	return nil
}
