package config

import (
	"errors"
	"fmt"
	"reflect"
)

// Error is an invalid setting. Path is the setting's dotted YAML path
// relative to the struct whose Validate returned it; Validate prefixes it
// with the path of that struct in the configuration, so the message names
// the setting as a user writes it ("api.max_body_bytes: must be
// positive"), whatever package validated it. The flag (-api.max-body-bytes)
// and the variable (SHOPEDGE_API_MAX_BODY_BYTES) follow from the path.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid returns an Error for the setting at path (relative to the
// struct being validated; "" for the struct itself) with a message
// formatted as fmt.Errorf does.
func Invalid(path, format string, args ...any) error {
	return &Error{Path: path, Err: fmt.Errorf(format, args...)}
}

// In returns err with its setting's path under prefix: an Error's path is
// joined to prefix, any other error becomes an Error for prefix itself.
// nil stays nil. Validate uses it for every nested struct; a Validate
// method needs it only to name an item of a list ("rules[2]").
func In(prefix string, err error) error {
	if err == nil || prefix == "" {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		p := prefix
		if e.Path != "" {
			if e.Path[0] == '[' {
				p += e.Path
			} else {
				p += "." + e.Path
			}
		}
		return &Error{Path: p, Err: e.Err}
	}
	return &Error{Path: prefix, Err: err}
}

// Wirer is implemented by a configuration whose sections take settings
// from elsewhere in it (a section's `yaml:"-"` fields, such as the core
// addresses or the tokens): Validate calls Wire first, so that each
// section is validated as it will be used.
type Wirer interface {
	Wire()
}

// Validate validates cfg, a pointer to a configuration struct: it calls
// cfg.Wire when cfg implements Wirer, then the Validate method of cfg and,
// depth first in declaration order, of every nested struct reached
// through fields with a YAML name (a parent before its sections, so the
// top-level settings that sections are wired from are named first),
// stopping at the first error. The error is an *Error naming the
// setting's full path. A Validate method checks its own fields (and
// those of its sections it must compare): it never calls a section's
// Validate, and names settings relative to itself (Invalid).
func Validate(cfg any) error {
	if w, ok := cfg.(Wirer); ok {
		w.Wire()
	}
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("BUG: config must be a pointer to a struct, not %T", cfg)
	}
	return validateStruct(v.Elem(), "")
}

func validateStruct(v reflect.Value, path string) error {
	if val, ok := validatorOf(v); ok {
		if err := In(path, val.Validate()); err != nil {
			return err
		}
	}
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name, ok := yamlName(sf)
		if !ok || sf.Type.Kind() != reflect.Struct || !isStructSection(sf.Type) {
			continue
		}
		if err := validateStruct(v.Field(i), joinPath(path, name)); err != nil {
			return err
		}
	}
	return nil
}

// isStructSection reports whether a struct field is a section (walked),
// not a leaf value such as a type with its own text form.
func isStructSection(t reflect.Type) bool { return !isLeaf(t) }

// validatorOf returns v (or its address) as a Validator.
func validatorOf(v reflect.Value) (Validator, bool) {
	if v.CanAddr() {
		if val, ok := v.Addr().Interface().(Validator); ok {
			return val, true
		}
	}
	val, ok := v.Interface().(Validator)
	return val, ok
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
