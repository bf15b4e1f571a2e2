package catalog

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"
)

// schema is the shape of a Go type as JSON sees it, enough to name the
// path of an object key the decoder rejected as unknown. It is immutable
// once built.
type schema struct {
	fields map[string]*schema // struct: JSON name → field schema
	elem   *schema            // map value or slice element
	object bool               // struct (fields) or map (elem)
}

var anySchema = &schema{}

// schemaOf builds the schema of t, following json tags and embedded structs.
func schemaOf(t reflect.Type) *schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		s := &schema{object: true, fields: map[string]*schema{}}
		addFields(s, t)
		return s
	case reflect.Map:
		return &schema{object: true, elem: schemaOf(t.Elem())}
	case reflect.Slice, reflect.Array:
		return &schema{elem: schemaOf(t.Elem())}
	}
	return anySchema
}

func addFields(s *schema, t reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(s, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s.fields[name] = schemaOf(f.Type)
	}
}

// importSchema is built once: import lines are checked at high rate.
var importSchema = schemaOf(reflect.TypeOf(importLine{}))

// unknownPath returns the path (e.g. "skus[1].colour") of an object key
// in data that sc does not know, matching keys as the decoder does (the
// exact name first, then ignoring case); "" when there is none or data
// is not JSON. It runs only after the decoder has rejected data for an
// unknown field, which names the key but not where it is (issue 16), so
// it may decode data into generic values: the accepted path never pays
// for it.
func unknownPath(data []byte, sc *schema) string {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return ""
	}
	return unknownIn(v, sc, "")
}

func unknownIn(v any, sc *schema, path string) string {
	switch v := v.(type) {
	case map[string]any:
		if !sc.object {
			return ""
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			next := sc.elem
			if sc.fields != nil {
				if next = sc.field(k); next == nil {
					return joinPath(path, k)
				}
			}
			if next == nil {
				continue
			}
			if p := unknownIn(v[k], next, joinPath(path, k)); p != "" {
				return p
			}
		}
	case []any:
		if sc.object || sc.elem == nil {
			return ""
		}
		for i, e := range v {
			if p := unknownIn(e, sc.elem, path+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	}
	return ""
}

// field returns the schema of the field named key: the exact name, else
// one equal to it ignoring case (as encoding/json and goccy match); nil
// when there is none.
func (s *schema) field(key string) *schema {
	if f, ok := s.fields[key]; ok {
		return f
	}
	for name, f := range s.fields {
		if strings.EqualFold(name, key) {
			return f
		}
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
