package catalog

import (
	"reflect"
	"strconv"
	"strings"

	"shopedge/core/api"
)

// schema is the shape of a Go type as JSON sees it, enough to find object
// keys that would be silently dropped on decoding. It is immutable once
// built.
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

// checkKeys reports the first object key in data that sc does not know, as
// an api.Error naming its path (e.g. "skus[1].colour"). Malformed JSON is
// not its business: it stops quietly and leaves the error to the decoder.
func checkKeys(data []byte, sc *schema) error {
	var stack [16]pathSeg
	k := keyChecker{b: data, path: stack[:0]}
	k.value(sc)
	return k.err
}

// pathSeg is one step of the path to the current value: an object key
// (raw, a sub-slice of the input) or an array index.
type pathSeg struct {
	key []byte
	idx int
}

type keyChecker struct {
	b    []byte
	i    int
	path []pathSeg
	err  error
	bad  bool // malformed input: stop
}

func (k *keyChecker) ws() {
	for k.i < len(k.b) {
		switch k.b[k.i] {
		case ' ', '\t', '\n', '\r':
			k.i++
		default:
			return
		}
	}
}

func (k *keyChecker) stopped() bool { return k.err != nil || k.bad }

func (k *keyChecker) value(sc *schema) {
	k.ws()
	if k.i >= len(k.b) {
		k.bad = true
		return
	}
	switch k.b[k.i] {
	case '{':
		k.object(sc)
	case '[':
		k.array(sc)
	case '"':
		k.str()
	default:
		for k.i < len(k.b) {
			switch k.b[k.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			k.i++
		}
	}
}

// str skips a string and returns its raw contents (escapes undecoded).
func (k *keyChecker) str() (raw []byte, escaped bool) {
	start := k.i + 1
	for j := start; j < len(k.b); j++ {
		switch k.b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			k.i = j + 1
			return k.b[start:j], escaped
		}
	}
	k.bad = true
	return nil, false
}

func (k *keyChecker) object(sc *schema) {
	k.i++ // '{'
	for !k.stopped() {
		k.ws()
		if k.i >= len(k.b) {
			k.bad = true
			return
		}
		if k.b[k.i] == '}' {
			k.i++
			return
		}
		if k.b[k.i] == ',' {
			k.i++
			continue
		}
		if k.b[k.i] != '"' {
			k.bad = true
			return
		}
		raw, escaped := k.str()
		if k.bad {
			return
		}
		if escaped {
			u, err := strconv.Unquote(`"` + string(raw) + `"`)
			if err != nil {
				k.bad = true
				return
			}
			raw = []byte(u)
		}
		k.ws()
		if k.i >= len(k.b) || k.b[k.i] != ':' {
			k.bad = true
			return
		}
		k.i++
		next := anySchema
		switch {
		case sc.fields != nil:
			f, ok := sc.fields[string(raw)]
			if !ok {
				k.err = api.Invalid(k.joined(string(raw)), "unknown field")
				return
			}
			next = f
		case sc.elem != nil:
			next = sc.elem
		}
		k.path = append(k.path, pathSeg{key: raw})
		k.value(next)
		k.path = k.path[:len(k.path)-1]
	}
}

func (k *keyChecker) array(sc *schema) {
	k.i++ // '['
	elem := anySchema
	if sc.elem != nil && !sc.object {
		elem = sc.elem
	}
	for n := 0; !k.stopped(); {
		k.ws()
		if k.i >= len(k.b) {
			k.bad = true
			return
		}
		switch k.b[k.i] {
		case ']':
			k.i++
			return
		case ',':
			k.i++
			n++
			continue
		}
		k.path = append(k.path, pathSeg{idx: n})
		k.value(elem)
		k.path = k.path[:len(k.path)-1]
	}
}

// joined returns the path of key: "skus[1].colour".
func (k *keyChecker) joined(key string) string {
	var b strings.Builder
	for _, p := range k.path {
		if p.key == nil {
			b.WriteString("[" + strconv.Itoa(p.idx) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.Write(p.key)
	}
	if b.Len() > 0 {
		b.WriteByte('.')
	}
	b.WriteString(key)
	return b.String()
}
