package catalog

import (
	"bytes"
	"errors"
	"reflect"
	"strings"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// DecodeStrict decodes the single JSON value in data into v, rejecting
// unknown fields, wrong types and trailing data with an api.Error of code
// invalid naming the field. Keys match fields as in encoding/json: the
// exact name, else ignoring case.
func DecodeStrict(data []byte, v any) error {
	return decodeStrict(data, v, schemaOf(reflect.TypeOf(v)))
}

// decodeStrict decodes data with goccy's decoder with
// DisallowUnknownFields; only when it rejects an unknown field is the
// field's path looked for against sc (see unknownPath). The streaming
// decoder costs what the former key check plus the non-streaming decoder
// cost (BenchmarkDecodeImportLine and its twin).
func decodeStrict(data []byte, v any, sc *schema) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			if path := unknownPath(data, sc); path != "" {
				return api.Invalid(path, "unknown field")
			}
		}
		return decodeError(err)
	}
	for _, c := range data[d.InputOffset():] {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return api.Invalid("body", "malformed JSON: data after the value")
		}
	}
	return nil
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return api.Invalid(field, "wrong type: got JSON %s, want %s", te.Value, jsonKind(te.Type.Kind().String()))
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return api.Invalid(strings.Trim(rest, `"`), "unknown field")
	}
	return api.Invalid("body", "malformed JSON: %s", strings.TrimPrefix(msg, "json: "))
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "int", "int64", "int32", "uint64", "uint32":
		return "integer"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	}
	return k
}
