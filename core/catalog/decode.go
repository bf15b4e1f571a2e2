package catalog

import (
	"errors"
	"reflect"
	"strings"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// DecodeStrict decodes the single JSON value in data into v, rejecting
// unknown fields, wrong types and trailing data with an api.Error of code
// invalid naming the field.
func DecodeStrict(data []byte, v any) error {
	return decodeStrict(data, v, schemaOf(reflect.TypeOf(v)))
}

// decodeStrict checks keys against sc (see checkKeys), then decodes with
// the fast non-streaming decoder, which also rejects trailing data.
func decodeStrict(data []byte, v any, sc *schema) error {
	if err := checkKeys(data, sc); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return decodeError(err)
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
