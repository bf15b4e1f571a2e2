package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadFile applies the YAML file at path to cfg (a pointer to a struct).
// Keys absent from the file keep their current values. Like yaml.v3's
// KnownFields(true), an unknown key is an error; here it names the whole
// path and line ("line 3: unknown key server.adr"), and so does a value of
// the wrong type.
func LoadFile(cfg any, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read config file: %w", err)
	}
	if err := Decode(cfg, data); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// Decode applies the YAML document data to cfg; see LoadFile.
func Decode(cfg any, data []byte) error {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("BUG: config must be a pointer to a struct, not %T", cfg)
	}
	// Decode into a node tree and walk it against the struct, rather than
	// decoding into the struct, so that errors carry the full field path.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file changes nothing
		}
		return fmt.Errorf("cannot parse YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return applyNode(v.Elem(), doc.Content[0], "")
}

// applyNode applies a YAML mapping node to the struct v.
func applyNode(v reflect.Value, n *yaml.Node, prefix string) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: %s must be a mapping", n.Line, orRoot(prefix))
	}
	index := structIndex(v.Type())
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		path := k.Value
		if prefix != "" {
			path = prefix + "." + k.Value
		}
		fi, ok := index[k.Value]
		if !ok {
			return fmt.Errorf("line %d: unknown key %s", k.Line, path)
		}
		fv := v.Field(fi)
		if !isLeaf(fv.Type()) {
			if err := applyNode(fv, val, path); err != nil {
				return err
			}
			continue
		}
		if err := applyLeaf(fv, val, path); err != nil {
			return err
		}
	}
	return nil
}

func applyLeaf(fv reflect.Value, n *yaml.Node, path string) error {
	f := Field{Path: path, v: fv}
	if isStructSlice(fv.Type()) {
		v, err := decodeStructSlice(fv.Type(), n, path)
		if err != nil {
			return err
		}
		fv.Set(v)
		return nil
	}
	switch n.Kind {
	case yaml.SequenceNode:
		if fv.Kind() != reflect.Slice {
			return fmt.Errorf("line %d: %s: a list is not allowed here", n.Line, path)
		}
		items := make([]string, 0, len(n.Content))
		for _, it := range n.Content {
			if it.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: %s: list items must be scalars", it.Line, path)
			}
			items = append(items, it.Value)
		}
		fv.Set(reflect.ValueOf(items))
		return nil
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			if fv.Kind() == reflect.Slice {
				fv.Set(reflect.ValueOf([]string{}))
				return nil
			}
			return fmt.Errorf("line %d: %s: a value is required", n.Line, path)
		}
		if err := f.Set(n.Value); err != nil {
			return fmt.Errorf("line %d: %s: %w", n.Line, path, err)
		}
		return nil
	default:
		return fmt.Errorf("line %d: %s: want a single value", n.Line, path)
	}
}

func structIndex(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if name, ok := yamlName(t.Field(i)); ok {
			m[name] = i
		}
	}
	return m
}

func orRoot(path string) string {
	if path == "" {
		return "the document"
	}
	return strings.TrimSpace(path)
}

// ItemDefaulter is implemented by (pointers to) the item structs of list
// settings whose fields have defaults: a decoded item starts from them, so
// the configuration may leave those keys out.
type ItemDefaulter interface {
	SetDefaults()
}

// isStructSlice reports whether t is a slice of structs (a list setting
// whose items have fields).
func isStructSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct &&
		!reflect.PointerTo(t.Elem()).Implements(textUnmarshalerType)
}

// decodeStructSlice decodes a YAML sequence of mappings into a new slice
// of type t; errors name the item, e.g. "payment.rules[1].weight". A null
// is the empty list.
func decodeStructSlice(t reflect.Type, n *yaml.Node, path string) (reflect.Value, error) {
	out := reflect.MakeSlice(t, 0, len(n.Content))
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return out, nil
	}
	if n.Kind != yaml.SequenceNode {
		return reflect.Value{}, fmt.Errorf("line %d: %s: want a list of mappings", n.Line, orRoot(path))
	}
	for i, item := range n.Content {
		ptr := reflect.New(t.Elem())
		if d, ok := ptr.Interface().(ItemDefaulter); ok {
			d.SetDefaults()
		}
		elem := ptr.Elem()
		if err := applyNode(elem, item, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return reflect.Value{}, err
		}
		out = reflect.Append(out, elem)
	}
	return out, nil
}

// parseStructSlice reads a list of structs from one string: a YAML flow
// or JSON sequence of mappings; errors name items under path.
func parseStructSlice(t reflect.Type, s, path string) (reflect.Value, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		return reflect.Value{}, fmt.Errorf("cannot parse the list %q: %w", s, err)
	}
	if len(doc.Content) == 0 {
		return reflect.MakeSlice(t, 0, 0), nil
	}
	return decodeStructSlice(t, doc.Content[0], path)
}

// flowYAML formats v as one line of YAML flow style.
func flowYAML(v any) string {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	var flow func(*yaml.Node)
	flow = func(n *yaml.Node) {
		n.Style |= yaml.FlowStyle
		for _, c := range n.Content {
			flow(c)
		}
	}
	flow(&n)
	b, err := yaml.Marshal(&n)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(string(b))
}
